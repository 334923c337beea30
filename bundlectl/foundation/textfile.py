"""Reading user files as text: size-capped, UTF-8 only, binary refused with the line of the bad byte."""

from __future__ import annotations

from pathlib import Path

from bundlectl.errors import InvalidInput, Problem

MAX_TEXT_BYTES = 16 * 1024 * 1024
MAX_INPUT_BYTES = 2 * 1024**3  # any file read whole into memory: a report, a key, a document


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
    """A user's file as bytes, refused in one line when missing, unreadable, not a regular file (a FIFO would wait
    forever, a device never end) or over `limit` bytes."""
    from bundlectl.safeio.regular import UnsafeFile, read_regular

    label = source or str(path)
    try:
        return read_regular(path, limit if limit is not None else MAX_INPUT_BYTES, label)
    except UnsafeFile as exc:
        hint = "keep manifests and configs small; large data belongs in component files" if "limit" in exc.why else "give the path of a regular file"
        raise InvalidInput([Problem(label, exc.why)], hint) from None
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
