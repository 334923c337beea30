"""The SSH wire encoding (RFC 4251 §5) that keys and signatures use: uint32, string, mpint."""

from __future__ import annotations

import struct


class Malformed(ValueError):
    """Bytes that do not decode as the SSH structure expected; callers say which structure and where."""


class WireReader:
    """Reads SSH wire fields from a bytes value, refusing anything that runs past its end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise Malformed("truncated")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        # inlined rather than take(uint32()): `verify` reads about twenty of these per signed record
        data, start = self.data, self.pos + 4
        if start > len(data):
            raise Malformed("truncated")
        end = start + int.from_bytes(data[start - 4 : start], "big")
        if end > len(data):
            raise Malformed("truncated")
        self.pos = end
        return data[start:end]

    def text(self) -> str:
        try:
            return self.string().decode("ascii")
        except UnicodeDecodeError:
            raise Malformed("a name that is not ASCII") from None

    def mpint(self) -> int:
        raw = self.string()
        if raw and raw[0] & 0x80:
            raise Malformed("a negative number where a positive one belongs")
        return int.from_bytes(raw, "big")

    def end(self) -> None:
        """Refuse trailing bytes: a structure that carries more than it should is not the one we know."""
        if self.pos != len(self.data):
            raise Malformed("trailing bytes")


def string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value
