"""With trust set, history no one may rewrite: on a machine that never saw the registry (a fresh clone, a fresh
cache), a consistent rewrite, a forged appended record and a truncation each fail `verify` with exit 5."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import git
import pytest

from bundlectl.digest.canonical import canonical_json, sha256_of
from tests.conftest import V1, V2, Workspace
from tests.helpers import write_behind_bundlectl
from tests.trust.conftest import Keys, ok

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
MARK = "\n-----BEGIN SSH SIGNATURE-----"


@pytest.fixture
def history(trusted: Workspace, keys: Keys) -> Workspace:
    """The trusted registry after a signed approval and promotion; the newest record is an approval."""
    ok(trusted, "approve", V1, "--env", "staging", "--key", keys.path("carol"))
    ok(trusted, "promote", V1, "--env", "staging", "--key", keys.path("pete"))
    ok(trusted, "approve", V2, "--env", "staging", "--key", keys.path("bob"))
    assert trusted.run("verify").exit_code == 0
    return trusted


def fresh_clone(ws: Workspace, tmp_path: Path) -> str:
    """A new clone that fetched the registry refs, as a teammate's machine would: it never saw the old head."""
    target = tmp_path / "fresh-clone"
    clone = git.Repo.clone_from(ws.root, target) if ws.repo.head.is_valid() else git.Repo.init(target)
    clone.git.fetch(str(ws.root), "+refs/bundlectl/*:refs/bundlectl/*")
    return str(target)


def verify_elsewhere(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    """`verify` with no index of this registry on the machine: a fresh clone (git) or a fresh cache (S3)."""
    monkeypatch.setenv("BUNDLECTL_CACHE_DIR", str(tmp_path / "another-machine"))
    if ws.backend == "git":
        return ws.run("verify", "--registry", fresh_clone(ws, tmp_path), *args)
    return ws.run("verify", *args)


def records(ws: Workspace) -> list[tuple[str, bytes, bytes]]:
    """Oldest first: (summary line, payload, signatures) of each stored record."""
    storage = ws.storage()
    found = []
    for item in storage.events_after(None, storage.log_head()):
        payload, mark, signatures = item.payload.partition(MARK.encode())
        found.append((f"record {json.loads(payload)['seq']}", payload, (mark + signatures).lstrip(b"\n")))
    return found


def stored(record: tuple[str, bytes, bytes]) -> bytes:
    _, payload, signatures = record
    return payload + (b"\n" + signatures if signatures else b"")


def s3_head(seq: int, record: tuple[str, bytes, bytes]) -> bytes:
    """head.json as the S3 backend writes it: the seq and the backend's id of that record."""
    return json.dumps({"seq": seq, "id": f"{seq:012d}-{sha256_of(stored(record))[7:23]}"}).encode()


def sign(keys: Keys, name: str, payload: bytes) -> bytes:
    done = subprocess.run(["ssh-keygen", "-Y", "sign", "-f", keys.path(name), "-n", "bundlectl"], input=payload, capture_output=True, check=True)
    return done.stdout.strip()


def store(ws: Workspace, kept: list[tuple[str, bytes, bytes]], unchanged: int = 0, move_head: bool = True) -> None:
    """Write these records as the whole log, behind bundlectl's back, and point the head pointer at the last.

    The first `unchanged` records are left as stored (so a machine that saw them sees an append, not a rewrite).
    """
    if ws.backend == "git":
        commits = ws.repo.git.rev_list("--reverse", "refs/bundlectl/log").split()
        parent = commits[unchanged - 1] if unchanged else None
        for record in kept[unchanged:]:
            args = [EMPTY_TREE, "-m", f"{record[0]}\n\n{stored(record).decode()}\n"] + (["-p", parent] if parent else [])
            parent = ws.repo.git.commit_tree(*args)
        ws.repo.git.update_ref("refs/bundlectl/log", parent)
    else:
        storage = ws.storage()
        for seq, record in enumerate(kept[unchanged:], unchanged + 1):
            body = {"summary": record[0], "payload": stored(record).decode(), "pointers": []}
            storage.client.put_object(Bucket=storage.bucket, Key=storage._log_key(seq), Body=json.dumps(body).encode())
        storage.client.put_object(Bucket=storage.bucket, Key=storage._key("head.json"), Body=s3_head(len(kept), kept[-1]))
        for seq in range(len(kept) + 1, len(kept) + 10):
            storage.client.delete_object(Bucket=storage.bucket, Key=storage._log_key(seq))
    if move_head:
        last = json.loads(kept[-1][1])
        write_behind_bundlectl(ws, "pointers/head", canonical_json({"seq": last["seq"], "hash": sha256_of(kept[-1][1])}))


def cut_newest_record(ws: Workspace, kept: list[tuple[str, bytes, bytes]]) -> None:
    """Truncate the log by its newest record behind bundlectl's back, leaving every pointer (the head one too) alone."""
    if ws.backend == "git":
        ws.repo.git.update_ref("refs/bundlectl/log", "refs/bundlectl/log~1")
    else:
        storage = ws.storage()
        storage.client.delete_object(Bucket=storage.bucket, Key=storage._log_key(len(kept)))
        storage.client.put_object(Bucket=storage.bucket, Key=storage._key("head.json"), Body=s3_head(len(kept) - 1, kept[-2]))


def delete_pointer(ws: Workspace, name: str) -> None:
    if ws.backend == "git":
        ws.repo.git.update_ref("-d", f"refs/bundlectl/pointers/{name}")
    else:
        storage = ws.storage()
        storage.client.delete_object(Bucket=storage.bucket, Key=storage._key("pointers", name))


def rechained(kept: list[tuple[str, bytes, bytes]], start: int) -> list[tuple[str, bytes, bytes]]:
    """Re-chain every record from `start` on (seq and prev), keeping each one's signatures as they were."""
    out = kept[:start]
    for summary, payload, signatures in kept[start:]:
        record = json.loads(payload)
        record["seq"], record["prev"] = len(out) + 1, sha256_of(out[-1][1])
        out.append((summary, canonical_json(record), signatures))
    return out


def assert_tampering(result, text: str) -> None:
    assert result.exit_code == 5, result.output
    assert text in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_a_consistent_rewrite_fails_verify_on_a_machine_that_never_saw_the_old_head(
    history: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    kept = records(history)
    i = next(n for n, (_, payload, _) in enumerate(kept) if json.loads(payload)["action"] == "promote")
    record = json.loads(kept[i][1])
    record["reason"] = "approved in the weekly review"  # what an attacker might add to make a move look routine
    kept[i] = (kept[i][0], canonical_json(record), kept[i][2])
    store(history, rechained(kept, i))
    assert_tampering(verify_elsewhere(history, tmp_path, monkeypatch), f"log record seq {i + 1} (promote")
    assert "is not signed by a key allowed to: the signature does not match" in verify_elsewhere(history, tmp_path / "again", monkeypatch).stderr


def test_dropping_the_signatures_of_a_rewrite_fails_too(history: Workspace, tmp_path: Path, monkeypatch):
    kept = records(history)
    i = next(n for n, (_, payload, _) in enumerate(kept) if json.loads(payload)["action"] == "evidence")
    record = json.loads(kept[i][1])
    record["data"]["figures"]["pass_rate"] = 1.0
    kept[i] = (kept[i][0], canonical_json(record), b"")
    store(history, rechained(kept, i))
    assert_tampering(verify_elsewhere(history, tmp_path, monkeypatch), "is not signed, but trust is set")


def test_a_forged_appended_record_fails_verify_and_no_writer_acts_on_it(
    history: Workspace, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """mallory appends an approval by carol for V2, chained and with the head pointer moved to match, signed by her own key."""
    kept = records(history)
    last = json.loads(kept[-1][1])
    forged = {**last, "seq": last["seq"] + 1, "prev": sha256_of(kept[-1][1]), "actor": "carol@example.com"}
    payload = canonical_json(forged)
    store(history, [*kept, ("approval by carol@example.com", payload, sign(keys, "mallory", payload))], unchanged=len(kept))
    assert_tampering(verify_elsewhere(history, tmp_path, monkeypatch), "which the trust file does not name, is not among the approvers")
    monkeypatch.setenv("BUNDLECTL_CACHE_DIR", str(tmp_path / "a-writer"))
    result = history.run("promote", V2, "--env", "staging", "--key", keys.path("pete"))
    assert_tampering(result, f"log record seq {forged['seq']} (approval")


def test_a_truncation_fails_verify_on_a_machine_that_never_saw_the_old_head(history: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The newest record (bob's approval of V2) is cut: every record left is validly signed, the pointers agree."""
    kept = records(history)
    cut_newest_record(history, kept)
    assert_tampering(
        verify_elsewhere(history, tmp_path, monkeypatch),
        f"the log ends at seq {len(kept) - 1}, but the head pointer, moved with every signed record, names seq {len(kept)}",
    )


def test_cutting_everything_from_the_trust_file_on_fails_verify(history: Workspace, tmp_path: Path, monkeypatch):
    kept = records(history)
    first_trust = next(n for n, (_, payload, _) in enumerate(kept) if json.loads(payload)["action"] == "trust")
    store(history, kept[:first_trust], move_head=False)
    delete_pointer(history, "envs/support-triage/staging")  # the move came after trust: the attacker covers it up
    assert_tampering(verify_elsewhere(history, tmp_path, monkeypatch), "the head pointer exists, but the log never set trust")


def test_a_pinned_trust_root_catches_a_log_whose_trust_began_elsewhere(history: Workspace, tmp_path, monkeypatch):
    root = history.json("trust", "show")["root"]
    assert verify_elsewhere(history, tmp_path, monkeypatch, "--trust-root", root).exit_code == 0
    assert_tampering(verify_elsewhere(history, tmp_path / "2", monkeypatch, "--trust-root", "sha256:" + "0" * 64), "not the pinned root")


def test_one_record_checks_out_with_plain_ssh_keygen(history: Workspace, keys: Keys, tmp_path: Path):
    """What README: Trust shows: the payload, its signature and an allowed_signers file; nothing of bundlectl."""
    if history.backend == "git":  # line 3 of the commit message is the payload; the signature follows it
        message = history.repo.git.log("-1", "--format=%B", "refs/bundlectl/log")
        payload, signature = message.split("\n")[2], message[message.index("-----BEGIN SSH SIGNATURE-----") :]
    else:  # log/SEQ.json holds {"payload": …}: its first line is the payload, the rest the signature
        storage = history.storage()
        body = json.loads(storage.client.get_object(Bucket=storage.bucket, Key=storage._log_key(len(records(history))))["Body"].read())
        payload, _, signature = body["payload"].partition("\n")
    (tmp_path / "payload.sig").write_text(signature.strip() + "\n")
    (tmp_path / "allowed_signers").write_text(keys.line("bob") + "\n")
    command = [
        "ssh-keygen",
        "-Y",
        "verify",
        "-f",
        str(tmp_path / "allowed_signers"),
        "-I",
        "bob@example.com",
        "-n",
        "bundlectl",
        "-s",
        str(tmp_path / "payload.sig"),
    ]
    done = subprocess.run(command, input=payload.encode(), capture_output=True)
    assert done.returncode == 0, done.stderr
    assert b'Good "bundlectl" signature for bob@example.com' in done.stdout
    assert subprocess.run(command, input=payload.encode() + b" ", capture_output=True).returncode != 0


def test_a_truncation_fails_reads_too_on_a_machine_that_never_saw_the_old_head(history: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`status` on a fresh machine builds its index from the truncated log; the head pointer says records are missing.

    Reads compare pointers only where that costs no extra request (git: ref files); on S3 `verify` is the check."""
    kept = records(history)
    cut_newest_record(history, kept)
    monkeypatch.setenv("BUNDLECTL_CACHE_DIR", str(tmp_path / "another-machine"))
    if history.backend == "git":
        read = history.run("status", "--registry", fresh_clone(history, tmp_path))
        assert_tampering(read, f"the head pointer does not name the newest record of the log (seq {len(kept) - 1})")
    else:
        assert history.run("status").exit_code == 0
        assert_tampering(history.run("verify"), f"the log ends at seq {len(kept) - 1}, but the head pointer")
