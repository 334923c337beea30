"""Where stored bytes live: object keys derived from the sha256 of the content they hold."""

from __future__ import annotations

from bundlectl.digest.canonical import hex_of, sha256_of


def blob_key(digest: str) -> str:
    """A component file, by its `sha256:…` digest."""
    return "blobs/" + hex_of(digest)


def report_key(data: bytes) -> str:
    """A raw evidence report, by the sha256 of its bytes."""
    return "reports/" + hex_of(sha256_of(data))


def digest_in_key(key: str) -> str:
    """The hex digest an object key names (what `verify` recomputes)."""
    return key.rsplit("/", 1)[-1]
