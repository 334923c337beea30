"""What making an S3 client costs: a fresh boto3 session (what bundlectl did) against a session sharing botocore's model cache.

python benchmarks/s3_client.py   (no network: clients are made, never used)
"""

from __future__ import annotations

import os

import boto3
from botocore.config import Config
from common import median_interleaved, seconds

from bundlectl.storage.s3_client import new_client

ROUNDS = 30


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    endpoint, config = "http://127.0.0.1:9", Config()
    new_client(endpoint, config)  # the first client loads the models once either way
    fresh, shared = median_interleaved(
        lambda: boto3.session.Session().client("s3", endpoint_url=endpoint, config=config),
        lambda: new_client(endpoint, config),
        ROUNDS,
    )
    print(f"fresh boto3 session per client: {seconds(fresh)}")
    print(f"shared model cache per client:  {seconds(shared)}  ({fresh / shared:.1f}x faster)")


if __name__ == "__main__":
    main()
