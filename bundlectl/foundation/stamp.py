"""The request stamp: the `bundle.*` attribute names the runtime writes and `audit` reads, named once."""

from __future__ import annotations

from typing import Any

REQUEST_ID = "request.id"
NAME = "bundle.name"
VERSION = "bundle.version"
DIGEST = "bundle.digest"
ENV = "bundle.env"
POINTER_VERSION = "bundle.pointer_version"
LOG_DROPPED = "bundle.log.dropped"  # a request log line saying how many records before it could not be written
REQUIRED = (NAME, VERSION, DIGEST, ENV)  # a stamp without these cannot be audited


def stamp_attributes(name: str, version: str, digest: str, env: str, pointer_version: int) -> dict[str, Any]:
    return {NAME: name, VERSION: version, DIGEST: digest, ENV: env, POINTER_VERSION: pointer_version}
