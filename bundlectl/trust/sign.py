"""Signing with `ssh-keygen -Y sign`, as git's SSH signing does: so ssh-agent and FIDO keys work unchanged.

`--key PATH` (else BUNDLECTL_SIGNING_KEY, several joined with the path separator) names the private key,
or its .pub when the private half lives in ssh-agent or on a security key. bundlectl needs the public half
before it signs (the signer's principal is part of what is signed): it reads PATH when PATH is a public
key, else PATH.pub.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bundlectl.errors import Refused, UsageProblem
from bundlectl.trust.keys import BadKey, BadSignature, PublicKey
from bundlectl.trust.sshsig import NAMESPACE, parse_signature

SIGN_TIMEOUT_S = 120  # long enough to type a passphrase or touch a security key; a hung agent still ends
MAX_KEY_FILE = 64 * 1024


@dataclass(frozen=True)
class SigningKey:
    path: Path
    public: PublicKey

    def sign(self, message: bytes) -> str:
        """The armored SSHSIG of `message`, made by ssh-keygen and checked here before it is used."""
        command = ["ssh-keygen", "-Y", "sign", "-f", str(self.path), "-n", NAMESPACE, "-q"]
        try:
            done = subprocess.run(command, input=message, capture_output=True, timeout=SIGN_TIMEOUT_S, check=False)
        except FileNotFoundError:
            raise Refused("ssh-keygen is not installed (or not on PATH); it makes the signatures", "install OpenSSH 8.2 or newer") from None
        except subprocess.TimeoutExpired:
            raise Refused(
                f"ssh-keygen did not sign with {self.path} within {SIGN_TIMEOUT_S} s; nothing was written",
                "check that ssh-agent answers, or touch the security key when it blinks",
            ) from None
        complaint = done.stderr.decode(errors="replace").strip().splitlines()
        if done.returncode != 0:
            raise Refused(
                f"ssh-keygen could not sign with {self.path}: {complaint[-1] if complaint else 'no reason given'}",
                "nothing was written; check the key file, its passphrase, or ssh-agent (`ssh-add -l`)",
            )
        armored = done.stdout.decode(errors="replace")
        try:
            signature = parse_signature(armored)
            if signature.key != self.public:
                raise BadSignature(f"it was made by {signature.key.fingerprint}, not by the key in the public half ({self.public.fingerprint})")
            signature.check(message)
        except BadSignature as exc:
            raise Refused(
                f"the signature ssh-keygen made with {self.path} is not usable: {exc}",
                "nothing was written; make sure PATH.pub is the public half of PATH",
            ) from None
        return signature.armored


def signing_keys(paths: Sequence[str] | None) -> tuple[SigningKey, ...]:
    """The keys of `--key` (else BUNDLECTL_SIGNING_KEY), their public halves read and checked."""
    given = [p for p in paths or () if p]
    if not given:
        given = [p for p in os.environ.get("BUNDLECTL_SIGNING_KEY", "").split(os.pathsep) if p.strip()]
    keys = tuple(load_signing_key(p) for p in given)
    if len({k.public for k in keys}) != len(keys):
        raise UsageProblem("the same key is given twice", "give each --key once")
    return keys


def load_signing_key(path: str) -> SigningKey:
    """PATH's public half: PATH itself when it is a public key (agent, security key), else PATH.pub."""
    where = Path(path).expanduser()
    text = _read_small(where)
    if text is None:
        raise UsageProblem(f"signing key {where} does not exist", "give the private key (or its .pub) with --key PATH")
    public_path = where
    if "PRIVATE KEY" in text:
        public_path = where.with_name(where.name + ".pub")
        text = _read_small(public_path)
        if text is None:
            raise UsageProblem(
                f"{public_path}, the public half of signing key {where}, does not exist", f"write it with `ssh-keygen -y -f {where} > {public_path}`"
            )
    try:
        public = PublicKey.parse(text.strip().splitlines()[0] if text.strip() else "")
    except BadKey as exc:
        raise UsageProblem(f"{public_path} is not an SSH public key: {exc}", "give --key the key ssh-keygen made") from None
    return SigningKey(where, public)


def _read_small(path: Path) -> str | None:
    from bundlectl.safeio.regular import UnsafeFile, open_regular

    try:
        with open_regular(path) as handle:  # a FIFO or a device is refused, not waited on
            data = handle.read(MAX_KEY_FILE + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnsafeFile as exc:
        if "folder" in exc.why:
            return None
        raise UsageProblem(f"{path} {exc.why}", "give --key the key file ssh-keygen made") from None
    except OSError as exc:
        raise UsageProblem(f"cannot read {path}: {exc.strerror}", "check the path and its permissions") from None
    if len(data) > MAX_KEY_FILE:
        raise UsageProblem(f"{path} is too large to be an SSH key", "give --key the key file ssh-keygen made")
    return data.decode("utf-8", errors="replace")
