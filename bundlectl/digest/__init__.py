"""Canonical content digests: what a component and a bundle digest cover, and streaming file hashing."""
