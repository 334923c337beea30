"""Reading user files as text: size-capped, UTF-8 only, binary refused with the line of the bad byte."""

from __future__ import annotations

from pathlib import Path

from bundlectl.errors import InvalidInput, Problem

MAX_TEXT_BYTES = 16 * 1024 * 1024


def decode_text(data: bytes, source: str) -> str:
    """Decode strict UTF-8; a NUL byte or invalid sequence is an error naming the line."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise InvalidInput(
            [Problem(source, "is a binary file (NUL byte), expected UTF-8 text", line)],
            "point this field at a text file",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(
            [Problem(source, f"is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})", line)],
            "re-save the file as UTF-8",
        ) from None


def read_input(path: Path, source: str | None = None, limit: int | None = None) -> bytes:
    """A user's file as bytes, refused in one line when missing, unreadable or over `limit` bytes."""
    label = source or str(path)
    try:
        size = path.stat().st_size
        if limit is not None and size > limit:
            raise InvalidInput(
                [Problem(label, f"is {size} bytes, over the {limit}-byte limit for this kind of file")],
                "keep manifests and configs small; large data belongs in component files",
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput([Problem(label, "does not exist")]) from None
    except IsADirectoryError:
        raise InvalidInput([Problem(label, "is a folder, expected a file")]) from None
    except PermissionError:
        raise InvalidInput([Problem(label, "cannot be read (permission denied)")]) from None
    except OSError as exc:
        raise InvalidInput([Problem(label, f"cannot be read ({exc.strerror})")]) from None


def read_text(path: Path, source: str | None = None, limit: int = MAX_TEXT_BYTES) -> str:
    """Read a UTF-8 text file no larger than `limit` bytes."""
    label = source or str(path)
    return decode_text(read_input(path, label, limit), label)
