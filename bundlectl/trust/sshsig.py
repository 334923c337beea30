"""SSHSIG, the signature format of `ssh-keygen -Y sign` (OpenSSH PROTOCOL.sshsig), read and checked in-process.

Armored: `-----BEGIN SSH SIGNATURE-----`, base64 of the blob, `-----END SSH SIGNATURE-----`. The blob is
"SSHSIG", version 1, the public key, the namespace, a reserved string, the hash algorithm and the
signature; what the key signs is "SSHSIG", namespace, reserved, hash algorithm and H(message). So anyone
can check a bundlectl record with `ssh-keygen -Y verify -n bundlectl` as well (README: Trust).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import NamedTuple

from bundlectl.trust.keys import BadKey, BadSignature, PublicKey
from bundlectl.trust.wire import Malformed, WireReader, string

NAMESPACE = "bundlectl"  # `ssh-keygen -Y sign -n bundlectl`: a signature made for git or a file never counts here
MAGIC = b"SSHSIG"
VERSION = 1
BEGIN, END = "-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----"
HASHES = ("sha256", "sha512")
MAX_ARMORED = 16 * 1024  # an RSA-8192 signature is under 3 KiB armored
_ARMORED = re.compile(re.escape(BEGIN) + r"\n(.*?)\n?" + re.escape(END), re.DOTALL)


class SshSignature(NamedTuple):
    key: PublicKey
    namespace: str
    reserved: bytes
    hash_algorithm: str
    signature: bytes
    armored: str

    def check(self, message: bytes, namespace: str = NAMESPACE, key: PublicKey | None = None) -> None:
        """Raise BadSignature unless this is the key's signature over `message` in `namespace`.

        `key`, equal to the signature's own, may be passed to reuse one already loaded (a trust file's).
        """
        if self.namespace != namespace:
            raise BadSignature(f"it was made for namespace {self.namespace[:40]!r}, not {namespace!r}")
        digest = (hashlib.sha512 if self.hash_algorithm == "sha512" else hashlib.sha256)(message).digest()
        signed = MAGIC + string(self.namespace.encode()) + string(self.reserved) + string(self.hash_algorithm.encode()) + string(digest)
        (key or self.key).check(self.signature, signed)


def parse_signature(armored: str) -> SshSignature:
    """One armored SSHSIG; BadSignature when it is not one (the key inside is checked to be a supported key)."""
    if len(armored) > MAX_ARMORED:
        raise BadSignature("it is too long to be an SSH signature")
    found = _ARMORED.fullmatch(armored.strip())
    if found is None:
        raise BadSignature(f"it is not an armored SSH signature ({BEGIN} … {END})")
    return _parsed(found)


def parse_signatures(text: str) -> list[SshSignature]:
    """The armored signatures in `text`, in order; anything between or around them makes it not a signature list."""
    if len(text) > MAX_ARMORED * 16:
        raise BadSignature("there are too many signatures, or they are too long")
    found, end = [], 0
    for match in _ARMORED.finditer(text):
        if text[end : match.start()].strip():
            break
        found.append(_parsed(match))
        end = match.end()
    if text[end:].strip():
        raise BadSignature("there is text besides the armored SSH signatures")
    return found


def _parsed(found: re.Match[str]) -> SshSignature:
    try:
        blob = base64.b64decode("".join(found.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("its body is not base64") from None
    reader = WireReader(blob)
    try:
        if reader.take(len(MAGIC)) != MAGIC or reader.uint32() != VERSION:
            raise BadSignature("it is not an SSHSIG version 1 signature")
        key = PublicKey.from_blob(reader.string())
        namespace, reserved, hash_algorithm = reader.text(), reader.string(), reader.text()
        signature = reader.string()
        reader.end()
    except Malformed as exc:
        raise BadSignature(f"it is malformed ({exc})") from None
    except BadKey as exc:
        raise BadSignature(f"its key is refused: {exc}") from None
    if hash_algorithm not in HASHES:
        raise BadSignature(f"its hash algorithm {hash_algorithm[:20]!r} is not sha256 or sha512")
    return SshSignature(key, namespace, reserved, hash_algorithm, signature, found.group(0) + "\n")
