"""Webhooks: subscriptions logged like the policy, the log as their outbox, Standard Webhooks (and CloudEvents, Slack) delivery."""
