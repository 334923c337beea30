"""Drift judged from stored runs (issue 29): two eval runs of one bundle compared case by case, the decision at the
policy's alpha, and the owner's metric against its tolerance; pure rules that the `drift` workflow and every
reader of a drift record (bundlectl.transitions) share."""
