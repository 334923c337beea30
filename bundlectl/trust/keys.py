"""SSH public keys: parsing the `KEYTYPE BASE64` form, fingerprints as ssh-keygen prints them, and checking
a raw SSH signature made by the key (ed25519, ECDSA, RSA, and their FIDO `sk-` forms).

`cryptography` is imported only where a key is loaded, so reading a trust file's fingerprints costs nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Any

from bundlectl.trust.wire import Malformed, WireReader

ED25519 = "ssh-ed25519"
RSA = "ssh-rsa"
SK_ED25519 = "sk-ssh-ed25519@openssh.com"
SK_ECDSA = "sk-ecdsa-sha2-nistp256@openssh.com"
ECDSA_CURVES = {
    "ecdsa-sha2-nistp256": ("nistp256", "sha256"),
    "ecdsa-sha2-nistp384": ("nistp384", "sha384"),
    "ecdsa-sha2-nistp521": ("nistp521", "sha512"),
}
KEY_TYPES = (ED25519, *ECDSA_CURVES, RSA, SK_ED25519, SK_ECDSA)
RSA_MIN_BITS = 2048  # what ssh-keygen itself refuses to make smaller keys than
RSA_SIGNATURES = {"rsa-sha2-256": "sha256", "rsa-sha2-512": "sha512"}  # never ssh-rsa (SHA-1), as PROTOCOL.sshsig says
SK_USER_PRESENT = 0x01  # a FIDO signature made without a touch does not count (OpenSSH's default too)


class BadKey(ValueError):
    """Text or bytes that are not a supported SSH public key; the message says why."""


class BadSignature(ValueError):
    """A signature that does not verify, or is not a signature of this key's kind."""


@dataclass(frozen=True)
class PublicKey:
    """One SSH public key, as its wire blob; compared and hashed by that blob."""

    type: str
    blob: bytes
    _loaded: list[Any] = field(default_factory=list, compare=False, hash=False, repr=False)

    @classmethod
    def parse(cls, text: str, load: bool = True) -> PublicKey:
        """`KEYTYPE BASE64 [COMMENT]`, as in a .pub file or an allowed_signers line after the principal.

        `load=False` only decodes it (a key stored in a trust file that was checked when it was set).
        """
        parts = text.split()
        if len(parts) < 2:
            raise BadKey("expected KEYTYPE BASE64, as in a .pub file")
        if parts[0] not in KEY_TYPES:
            raise BadKey(f"key type {parts[0][:40]!r} is not supported (use one of: {', '.join(KEY_TYPES)})")
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError):
            raise BadKey("the key is not valid base64") from None
        key = cls.from_blob(blob)
        if key.type != parts[0]:
            raise BadKey(f"the key says it is {parts[0]} but its content is {key.type}")
        if load:
            key.require_loadable()
        return key

    @classmethod
    def from_blob(cls, blob: bytes) -> PublicKey:
        reader = WireReader(blob)
        try:
            kind = reader.text()
        except Malformed:
            raise BadKey("the key's content is not an SSH public key") from None
        if kind not in KEY_TYPES:
            raise BadKey(f"key type {kind[:40]!r} is not supported (use one of: {', '.join(KEY_TYPES)})")
        return cls(kind, blob)

    def require_loadable(self) -> None:
        """BadKey unless cryptography can load the key: checked when a trust file names it, not when it signs."""
        self._verifier()

    @property
    def fingerprint(self) -> str:
        """`SHA256:…`, exactly what `ssh-keygen -l` prints."""
        return "SHA256:" + base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")

    def line(self) -> str:
        return f"{self.type} {base64.b64encode(self.blob).decode()}"

    def check(self, signature: bytes, data: bytes) -> None:
        """Raise BadSignature unless `signature` (an SSH signature blob) is this key's over `data`."""
        try:
            self._check(WireReader(signature), data)
        except Malformed as exc:
            raise BadSignature(f"the signature is malformed ({exc})") from None

    def _check(self, reader: WireReader, data: bytes) -> None:
        from cryptography.exceptions import InvalidSignature

        algorithm = reader.text()
        verifier, hash_name, application = self._verifier()
        if self.type == RSA:
            if algorithm not in RSA_SIGNATURES:
                raise BadSignature(f"RSA signature algorithm {algorithm!r} is not accepted (rsa-sha2-256 or rsa-sha2-512 only)")
            hash_name = RSA_SIGNATURES[algorithm]
        elif algorithm != self.type:
            raise BadSignature(f"a {algorithm[:40]} signature cannot be made by a {self.type} key")
        raw = reader.string()
        if self.type in (SK_ED25519, SK_ECDSA):  # FIDO: the token signs its own blob around our data's hash
            flags, counter = reader.byte(), reader.uint32()
            if not flags & SK_USER_PRESENT:
                raise BadSignature("the security key signed without user presence (no touch)")
            data = hashlib.sha256(application).digest() + bytes([flags]) + counter.to_bytes(4, "big") + hashlib.sha256(data).digest()
        reader.end()
        try:
            if self.type in (ED25519, SK_ED25519):
                verifier.verify(raw, data)
            elif self.type == RSA:
                from cryptography.hazmat.primitives.asymmetric import padding

                size = (verifier.key_size + 7) // 8
                verifier.verify(raw.rjust(size, b"\0"), data, padding.PKCS1v15(), _hash(hash_name))
            else:
                from cryptography.hazmat.primitives.asymmetric import ec
                from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

                inner = WireReader(raw)
                r, s = inner.mpint(), inner.mpint()
                inner.end()
                verifier.verify(encode_dss_signature(r, s), data, ec.ECDSA(_hash(hash_name)))
        except InvalidSignature:
            raise BadSignature("the signature does not match") from None

    def _verifier(self) -> tuple[Any, str, bytes]:
        """The cryptography public key, the hash it signs with, and (FIDO keys) the application; loaded once."""
        if not self._loaded:
            try:
                self._loaded.append(self._load())
            except (Malformed, ValueError) as exc:
                raise BadKey(f"the {self.type} key's content is malformed ({exc})") from None
        loaded: tuple[Any, str, bytes] = self._loaded[0]
        return loaded

    def _load(self) -> tuple[Any, str, bytes]:
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        reader = WireReader(self.blob)
        reader.text()
        application = b""
        if self.type in (ED25519, SK_ED25519):
            key: Any = ed25519.Ed25519PublicKey.from_public_bytes(reader.string())
            hash_name = "sha512"
        elif self.type == RSA:
            exponent, modulus = reader.mpint(), reader.mpint()
            if modulus.bit_length() < RSA_MIN_BITS:
                raise ValueError(f"RSA keys under {RSA_MIN_BITS} bits are refused")
            key = rsa.RSAPublicNumbers(exponent, modulus).public_key()
            hash_name = "sha512"
        else:
            curve_name, hash_name = ECDSA_CURVES.get(self.type, ("nistp256", "sha256"))
            if reader.text() != curve_name:
                raise ValueError("the curve does not match the key type")
            curve = {"nistp256": ec.SECP256R1(), "nistp384": ec.SECP384R1(), "nistp521": ec.SECP521R1()}[curve_name]
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve, reader.string())
        if self.type in (SK_ED25519, SK_ECDSA):
            application = reader.string()
        reader.end()
        return key, hash_name, application


def _hash(name: str) -> Any:
    from cryptography.hazmat.primitives import hashes

    return {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[name]
