"""Canary routing: which arm a routing key gets. One function, for every place that routes (the runtime, and any
server that answers for it), so they always agree.

A keyed hash (BLAKE2b) of the routing key picks one of 10,000 buckets; the first PERCENT × 100 buckets get the
candidate, so a growing share keeps the keys it had. The hash is keyed by the candidate's digest (each canary
draws its own keys) and, when given, a routing secret the registry does not hold (`routing_secret=`, default the
`BUNDLECTL_ROUTING_SECRET` environment variable): without it, anyone who reads the registry knows the digest and
can choose keys that land in either arm.
"""

from __future__ import annotations

import os
from functools import lru_cache
from hashlib import blake2b

BUCKETS = 10_000  # a canary's share is routed in hundredths of a percent of the key space
SECRET_VARIABLE = "BUNDLECTL_ROUTING_SECRET"


def routing_secret(given: str | bytes | None = None) -> bytes:
    """The secret to salt routing with: the one given, else the environment's, else none (b"")."""
    chosen = given if given is not None else os.environ.get(SECRET_VARIABLE, "")
    return chosen.encode() if isinstance(chosen, str) else bytes(chosen)


@lru_cache(maxsize=64)
def _hash_key(candidate_digest: str, secret: bytes) -> bytes:
    digest = bytes.fromhex(candidate_digest.removeprefix("sha256:"))[:32]
    if not secret:
        return digest
    return blake2b(digest, digest_size=32, key=blake2b(secret, digest_size=32, person=b"bundlectl-route").digest()).digest()


def routing_bucket(key: str, candidate_digest: str, secret: bytes = b"") -> int:
    """The bucket (0 to 9,999) of a routing key in the canary of `candidate_digest`: the candidate serves it when the
    bucket is below its share in hundredths of a percent (`percent * 100`)."""
    # surrogatepass: a lone surrogate (valid JSON "\ud800" from a client) routes like any key instead of raising
    data = key.encode("utf-8", "surrogatepass")
    return int.from_bytes(blake2b(data, digest_size=8, key=_hash_key(candidate_digest, secret)).digest(), "big") % BUCKETS


def routes_to_candidate(key: str, candidate_digest: str, percent: int, secret: bytes = b"") -> bool:
    """Does the canary of `candidate_digest` at `percent`% serve this key the candidate?"""
    return routing_bucket(key, candidate_digest, secret) < percent * (BUCKETS // 100)
