"""What a key holder with write access does without bundlectl: read the log, write a record's JSON, sign it with
`ssh-keygen -Y sign -n bundlectl`, and store it with plain git (commit-tree, update-ref) or plain S3 calls (boto3),
moving whatever pointers it likes. Nothing here imports bundlectl: the forgery must not depend on its code."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.conftest import Workspace
from tests.trust.conftest import Keys

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
MARK = b"\n-----BEGIN SSH SIGNATURE-----"


def canonical(value: Any) -> bytes:
    """bundlectl's wire form, as its docs describe it: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Forger:
    """Reads and appends to one workspace's registry the way a person with the repository and a key could."""

    def __init__(self, ws: Workspace, keys: Keys) -> None:
        self.ws, self.keys = ws, keys

    # reading -----------------------------------------------------------------------
    def payloads(self) -> list[bytes]:
        """Every record's payload, oldest first (signatures cut off)."""
        if self.ws.backend == "git":
            out = self._git("log", "--reverse", "--format=%B%x00", "refs/bundlectl/log")
            bodies = [m.strip("\n").partition("\n\n")[2].strip().encode() for m in out.split("\x00") if m.strip()]
        else:
            client, bucket, prefix = self._s3()
            keys = sorted(
                o["Key"]
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/log/")
                for o in page.get("Contents", [])
            )
            bodies = [json.loads(client.get_object(Bucket=bucket, Key=k)["Body"].read())["payload"].encode() for k in keys]
        return [body.partition(MARK)[0] for body in bodies]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(p) for p in self.payloads()]

    def registered(self, version: str) -> dict[str, Any]:
        return next(r["data"] for r in self.records() if r["action"] == "register" and r["data"]["version"] == version)

    def pointer(self, env: str, name: str = "support-triage") -> dict[str, Any] | None:
        """The environment pointer as the log last set it."""
        moves = [r for r in self.records() if r["action"] in ("promote", "rollback") and (r["data"]["name"], r["data"]["env"]) == (name, env)]
        if not moves:
            return None
        last = moves[-1]
        data = last["data"]
        return {
            "name": name,
            "env": env,
            "digest": data["to_digest"],
            "version": data["to_version"],
            "pointer_version": data["pointer_version"],
            "seq": last["seq"],
        }

    def registry_id(self) -> str | None:
        """The registry id the newest record names (or init's, when no later record names one)."""
        for record in reversed(self.records()):
            named = record.get("registry") or (record["data"].get("registry") if record["action"] == "init" else None)
            if named:
                return str(named)
        return None

    # writing -----------------------------------------------------------------------
    def append(
        self,
        action: str,
        data: dict[str, Any],
        signer: str | None,
        pointers: dict[str, dict[str, Any]] | None = None,
        report: bytes | None = None,
        registry: bool = True,
        sign_other: bytes | None = None,
        at: str | None = None,
    ) -> int:
        """Append one record signed by `signer`'s key (its principal as actor), then set `pointers` and the head
        pointer; `report` is stored as an object first. Returns the new record's seq.

        Without a signer the record is unsigned (as before trust is set) and no head pointer is written. With
        `registry`, the record names the registry's id as the records before it do (what bundlectl writes today).
        With `sign_other`, the signer signs those bytes instead: a signature naming its key that does not verify.
        `at` dates the record (a skewed clock); else the later of now and the record before it."""
        payloads = self.payloads()
        last = json.loads(payloads[-1])
        times = [last["time"], datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
        envelope = {
            "seq": last["seq"] + 1,
            "prev": sha256(payloads[-1]),
            "time": at or max(times),
            "actor": f"{signer or 'someone'}@example.com",
            "action": action,
            "reason": "forged",
            "data": data,
        }
        named = self.registry_id() if registry else None
        if named is not None:  # a forger copies the registry id every record names, as anyone reading the log can
            envelope["registry"] = named
        payload = canonical(envelope)
        stored = payload
        if signer is not None:
            signature = subprocess.run(
                ["ssh-keygen", "-Y", "sign", "-f", self.keys.path(signer), "-n", "bundlectl"],
                input=sign_other or payload,
                capture_output=True,
                check=True,
            ).stdout.strip()
            stored = payload + b"\n" + signature
        if report is not None:
            self.put_object("reports/" + hashlib.sha256(report).hexdigest(), report)
        head = {"seq": envelope["seq"], "hash": sha256(payload)}
        self._store(envelope["seq"], f"{action} by {envelope['actor']}", stored)
        for name, value in {**(pointers or {}), **({"head": head} if signer else {})}.items():
            self.set_pointer(name, canonical(value))
        return int(envelope["seq"])

    def put_object(self, key: str, data: bytes) -> None:
        if self.ws.backend == "git":
            blob = self._git("hash-object", "-w", "--stdin", input=data).strip()
            self._git("update-ref", f"refs/bundlectl/objects/{key}", blob)
        else:
            client, bucket, prefix = self._s3()
            client.put_object(Bucket=bucket, Key=f"{prefix}/objects/{key}", Body=data)

    def set_pointer(self, name: str, value: bytes) -> None:
        if self.ws.backend == "git":
            blob = self._git("hash-object", "-w", "--stdin", input=value).strip()
            self._git("update-ref", f"refs/bundlectl/pointers/{name}", blob)
        else:
            client, bucket, prefix = self._s3()
            client.put_object(Bucket=bucket, Key=f"{prefix}/pointers/{name}", Body=value)

    def _store(self, seq: int, summary: str, stored: bytes) -> None:
        if self.ws.backend == "git":
            parent = self._git("rev-parse", "refs/bundlectl/log").strip()
            commit = self._git("commit-tree", EMPTY_TREE, "-p", parent, input=f"{summary}\n\n{stored.decode()}\n".encode())
            self._git("update-ref", "refs/bundlectl/log", commit.strip(), parent)
            return
        client, bucket, prefix = self._s3()
        body = json.dumps({"summary": summary, "payload": stored.decode(), "pointers": []}, sort_keys=True).encode()
        client.put_object(Bucket=bucket, Key=f"{prefix}/log/{seq:012d}.json", Body=body)
        head = {"seq": seq, "id": f"{seq:012d}-{hashlib.sha256(stored).hexdigest()[:16]}"}
        client.put_object(Bucket=bucket, Key=f"{prefix}/head.json", Body=json.dumps(head).encode())

    def _git(self, *args: str, input: bytes | None = None) -> str:
        return subprocess.run(["git", "-C", str(self.ws.root), *args], input=input, capture_output=True, check=True).stdout.decode()

    def _s3(self) -> tuple[Any, str, str]:
        import os

        import boto3

        url = os.environ["BUNDLECTL_REGISTRY"].removeprefix("s3://")
        bucket, _, prefix = url.partition("/")
        return boto3.client("s3"), bucket, prefix.rstrip("/")


def report_bytes(path: str | Path) -> bytes:
    return Path(path).read_bytes()
