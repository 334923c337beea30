"""The registry: bundles, the event log and the read index, on top of any storage backend."""
