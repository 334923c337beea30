"""How the read index stores bundle records compactly: zlib, against an earlier record of the same bundle.

Versions of one bundle share most of their record (names, fields, the digests of unchanged files), so
a record is compressed with an earlier one of the same name as zlib's preset dictionary, much like a
git pack stores a delta. The earlier one is always a keyframe, packed alone, so unpacking takes at
most two steps and never walks a chain.
"""

from __future__ import annotations

import zlib

# A record packed against its keyframe must come out at most this share of packing it alone; otherwise
# the bundle has drifted far from the keyframe and the record becomes the next keyframe itself.
KEYFRAME_SHARE = 0.5


def pack(record: bytes, keyframe: bytes | None) -> tuple[bytes, bool]:
    """The packed record, and whether it was packed against `keyframe` (else it is a keyframe)."""
    alone = zlib.compress(record)
    if keyframe is None:
        return alone, False
    packer = zlib.compressobj(zdict=keyframe)
    against = packer.compress(record) + packer.flush()
    if len(against) > KEYFRAME_SHARE * len(alone):
        return alone, False
    return against, True


def unpack(packed: bytes, keyframe: bytes | None) -> bytes:
    """A record from `pack`'s bytes; `keyframe` is the unpacked keyframe it was packed against, if any."""
    if keyframe is None:
        return zlib.decompress(packed)
    unpacker = zlib.decompressobj(zdict=keyframe)
    return unpacker.decompress(packed) + unpacker.flush()
