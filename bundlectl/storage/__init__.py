"""Where a registry keeps its data: a small interface and its two backends, git and S3."""
