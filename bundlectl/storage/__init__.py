"""Where a registry keeps its data: a small interface and its backends (git now, S3 later)."""
