"""SSHSIG checked in-process against signatures made by ssh-keygen itself, for every key type a trust file takes."""

from __future__ import annotations

import base64
import hashlib
import subprocess

import pytest

from bundlectl.trust.keys import SK_ED25519, BadKey, BadSignature, PublicKey
from bundlectl.trust.sshsig import NAMESPACE, parse_signature, parse_signatures
from bundlectl.trust.wire import string
from tests.trust.conftest import Keys

MESSAGE = b'{"action":"approval","seq":7}'
KINDS = [("ed25519", []), ("ecdsa", ["-b", "256"]), ("ecdsa", ["-b", "384"]), ("ecdsa", ["-b", "521"]), ("rsa", ["-b", "3072"])]


def sign(path: str, message: bytes, namespace: str = NAMESPACE, *options: str) -> str:
    done = subprocess.run(["ssh-keygen", "-Y", "sign", "-f", path, "-n", namespace, *options], input=message, capture_output=True, check=True)
    return done.stdout.decode()


@pytest.fixture(params=KINDS, ids=lambda k: "-".join([k[0], *k[1][1:]]))
def key(request: pytest.FixtureRequest, tmp_path) -> tuple[str, PublicKey]:
    kind, extra = request.param
    path = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-f", str(path)], check=True)
    return str(path), PublicKey.parse((tmp_path / "key.pub").read_text())


@pytest.mark.parametrize("hash_algorithm", ["sha512", "sha256"])
def test_a_signature_by_ssh_keygen_verifies_and_names_its_key(key, hash_algorithm):
    path, public = key
    signature = parse_signature(sign(path, MESSAGE, NAMESPACE, "-O", f"hashalg={hash_algorithm}"))
    assert signature.key == public and signature.hash_algorithm == hash_algorithm
    signature.check(MESSAGE)


def test_another_message_another_namespace_or_a_flipped_byte_fail(key):
    path, _ = key
    armored = sign(path, MESSAGE)
    with pytest.raises(BadSignature, match="does not match"):
        parse_signature(armored).check(MESSAGE.replace(b"7", b"8"))
    with pytest.raises(BadSignature, match="namespace 'git'"):
        parse_signature(sign(path, MESSAGE, "git")).check(MESSAGE)
    blob = bytearray(base64.b64decode("".join(armored.splitlines()[1:-1])))
    blob[-5] ^= 0x01  # inside the signature itself
    tampered = "-----BEGIN SSH SIGNATURE-----\n" + base64.b64encode(bytes(blob)).decode() + "\n-----END SSH SIGNATURE-----\n"
    with pytest.raises(BadSignature):
        parse_signature(tampered).check(MESSAGE)


def test_fingerprints_are_what_ssh_keygen_prints(key):
    path, public = key
    printed = subprocess.run(["ssh-keygen", "-l", "-f", path + ".pub"], capture_output=True, text=True, check=True)
    assert public.fingerprint == printed.stdout.split()[1]


def test_a_signature_by_another_key_does_not_pass_for_this_one(keys: Keys):
    signature = parse_signature(sign(keys.path("mallory"), MESSAGE))
    alice = PublicKey.parse(keys.public("alice"))
    assert signature.key != alice
    with pytest.raises(BadSignature):
        signature.check(MESSAGE, key=alice)


def test_not_a_signature():
    for text, why in [
        ("hello", "not an armored SSH signature"),
        ("-----BEGIN SSH SIGNATURE-----\n!!!\n-----END SSH SIGNATURE-----", "not base64"),
        ("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----", "malformed"),
    ]:
        with pytest.raises(BadSignature, match=why):
            parse_signature(text)
    with pytest.raises(BadSignature, match="besides the armored"):
        parse_signatures("junk\n-----BEGIN SSH SIGNATURE-----\nAA==\n-----END SSH SIGNATURE-----")


def test_keys_that_are_refused():
    for text, why in [
        ("ssh-dss AAAAB3NzaC1kc3M=", "not supported"),
        ("ssh-ed25519 !!notbase64", "not valid base64"),
        ("ssh-ed25519 " + base64.b64encode(string(b"ssh-ed25519") + string(b"short")).decode(), "malformed"),
        ("ssh-rsa " + base64.b64encode(string(b"ssh-ed25519") + string(b"x" * 32)).decode(), "says it is ssh-rsa"),
    ]:
        with pytest.raises(BadKey, match=why):
            PublicKey.parse(text)


def test_a_short_rsa_key_is_refused(tmp_path):
    path = tmp_path / "weak"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", str(path)], check=True, capture_output=True)
    with pytest.raises(BadKey, match="under 2048 bits"):
        PublicKey.parse((tmp_path / "weak.pub").read_text())


def test_a_fido_ed25519_signature_per_protocol_u2f():
    """No security key is attached here, so the token's part is played in-process, byte for byte as OpenSSH's
    PROTOCOL.u2f describes it: the token signs SHA256(application) ‖ flags ‖ counter ‖ SHA256(signed data)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    token = Ed25519PrivateKey.generate()
    application = b"ssh:"
    raw = token.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    public = PublicKey.from_blob(string(SK_ED25519.encode()) + string(raw) + string(application))
    signed = b"SSHSIG" + string(NAMESPACE.encode()) + string(b"") + string(b"sha512") + string(hashlib.sha512(MESSAGE).digest())

    def armored(flags: int) -> str:
        counter = (7).to_bytes(4, "big")
        token_signature = token.sign(hashlib.sha256(application).digest() + bytes([flags]) + counter + hashlib.sha256(signed).digest())
        signature = string(SK_ED25519.encode()) + string(token_signature) + bytes([flags]) + counter
        blob = (
            b"SSHSIG"
            + (1).to_bytes(4, "big")
            + string(public.blob)
            + string(NAMESPACE.encode())
            + string(b"")
            + string(b"sha512")
            + string(signature)
        )
        return "-----BEGIN SSH SIGNATURE-----\n" + base64.b64encode(blob).decode() + "\n-----END SSH SIGNATURE-----\n"

    parse_signature(armored(0x01)).check(MESSAGE)
    with pytest.raises(BadSignature, match="without user presence"):
        parse_signature(armored(0x00)).check(MESSAGE)
