"""Edit the boxes of an MP4 that OpenCV wrote (moov after mdat), to make the awkward videos phones and
screen recorders produce: variable frame rate (per-frame ``stts`` durations) and rotation metadata (the
``tkhd`` display matrix). Test-only; nothing here decodes video."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import List, Sequence, Tuple

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _boxes(data: bytes, start: int, end: int) -> List[Tuple[bytes, int, int]]:
    """``(type, offset, size)`` of the boxes in ``data[start:end]`` (32-bit sizes only)."""
    out, at = [], start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size < 8:
            raise ValueError(f"unsupported box size {size} at {at}")
        out.append((kind, at, size))
        at += size
    return out


def _find(data: bytes, path: Sequence[bytes]) -> List[Tuple[bytes, int, int]]:
    """The chain of boxes ``path`` (first video track), outermost first."""
    chain, start, end = [], 0, len(data)
    for kind in path:
        for box in _boxes(data, start, end):
            if box[0] == kind and (kind != b"trak" or _is_video(data, box)):
                chain.append(box)
                start, end = box[1] + 8, box[1] + box[2]
                break
        else:
            raise ValueError(f"no {kind!r} box")
    return chain


def _is_video(data: bytes, trak: Tuple[bytes, int, int]) -> bool:
    return b"vide" in data[trak[1] : trak[1] + trak[2]]


def _replace(data: bytes, chain: List[Tuple[bytes, int, int]], payload: bytes) -> bytes:
    """``data`` with the last box of ``chain`` given a new payload, parents' sizes fixed. The moov box
    must come after mdat (OpenCV's layout), so chunk offsets stay right."""
    moov = chain[0][1]
    if data.find(b"mdat") > moov:
        raise ValueError("moov before mdat: chunk offsets would move")
    _, at, size = chain[-1]
    grow = 8 + len(payload) - size
    out = bytearray(data[:at] + struct.pack(">I", 8 + len(payload)) + data[at + 4 : at + 8] + payload)
    out += data[at + size :]
    for _, parent, parent_size in chain[:-1]:
        struct.pack_into(">I", out, parent, parent_size + grow)
    return bytes(out)


def set_frame_durations(path: Path, durations: Sequence[int]) -> None:
    """Give each frame its own duration, in the track's time-scale units (variable frame rate). The total
    must stay the same: the edit list OpenCV writes cuts the track at its original duration."""
    data = path.read_bytes()
    chain = _find(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"])
    old = [d for c, d in _stts(data, chain[-1][1]) for _ in range(c)]
    if len(old) != len(durations) or sum(old) != sum(durations):
        raise ValueError(f"durations {list(durations)} must be {len(old)} summing to {sum(old)}")
    payload = struct.pack(">4xI", len(durations)) + b"".join(struct.pack(">II", 1, d) for d in durations)
    path.write_bytes(_replace(data, chain, payload))


def _stts(data: bytes, at: int) -> List[Tuple[int, int]]:
    (n,) = struct.unpack(">I", data[at + 12 : at + 16])
    return [struct.unpack(">II", data[at + 16 + 8 * i : at + 24 + 8 * i]) for i in range(n)]


def timescale(path: Path) -> int:
    """The video track's time units per second (``mdhd``)."""
    data = path.read_bytes()
    _, at, _ = _find(data, [b"moov", b"trak", b"mdia", b"mdhd"])[-1]
    version = data[at + 8]
    return struct.unpack(">I", data[at + (28 if version == 1 else 20) : at + (32 if version == 1 else 24)])[0]


def frame_durations(path: Path) -> List[int]:
    data = path.read_bytes()
    _, at, _ = _find(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"])[-1]
    return [d for c, d in _stts(data, at) for _ in range(c)]


_MATRICES = {  # a, b, c, d of the tkhd matrix (16.16 fixed point), as phones write them
    0: (1, 0, 0, 1),
    90: (0, 1, -1, 0),
    180: (-1, 0, 0, -1),
    270: (0, -1, 1, 0),
}


def set_rotation(path: Path, degrees: int) -> None:
    """Write the display matrix of a phone video recorded turned by ``degrees`` (0, 90, 180, 270)."""
    data = bytearray(path.read_bytes())
    _, at, _ = _find(bytes(data), [b"moov", b"trak", b"tkhd"])[-1]
    version = data[at + 8]
    matrix = at + 8 + (52 if version == 1 else 40)
    a, b, c, d = (v * 0x10000 for v in _MATRICES[degrees])
    struct.pack_into(">iiIiiIiiI", data, matrix, a, b, 0, c, d, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))
