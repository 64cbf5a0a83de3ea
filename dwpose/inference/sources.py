"""Inputs of ``dwpose predict``: an image, a folder of images, a video or a webcam index.

Images are size-checked from their header before decoding, so a decompression bomb is refused
without allocating it. The few header readers below stand in for Pillow's ``Image.open(path).size``
(with ``Image.MAX_IMAGE_PIXELS``): the light install of ``dwpose predict`` (numpy, opencv,
onnxruntime, tqdm) has no Pillow, and OpenCV cannot tell an image's size without decoding it.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

import cv2
import numpy as np

from dwpose.errors import UserError
from dwpose.fileio import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, require_file, special_file_kind

MAX_PIXELS = 100_000_000
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(f) -> Optional[Tuple[int, int]]:
    f.seek(2)
    while True:
        marker = f.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        if marker[1] in (0xD8, 0x01) or 0xD0 <= marker[1] <= 0xD7:
            continue
        seg = f.read(2)
        if len(seg) < 2:
            return None
        length = struct.unpack(">H", seg)[0]
        if marker[1] in _JPEG_SOF:
            data = f.read(5)
            return (
                (struct.unpack(">H", data[3:5])[0], struct.unpack(">H", data[1:3])[0])
                if len(data) == 5
                else None
            )
        f.seek(length - 2, 1)


def _webp_size(head: bytes) -> Optional[Tuple[int, int]]:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30:
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25:
        b = head[21:25]
        return 1 + (b[0] | (b[1] & 0x3F) << 8), 1 + (b[1] >> 6 | b[2] << 2 | (b[3] & 0x0F) << 10)
    if chunk == b"VP8X" and len(head) >= 30:
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    return None


def image_size_from_header(path: Union[str, Path]) -> Optional[Tuple[int, int]]:
    """``(width, height)`` from a PNG, JPEG, BMP, GIF or WebP header without decoding; None if unknown."""
    with open(path, "rb") as f:
        head = f.read(30)
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp_size(head)
        if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
            return struct.unpack(">II", head[16:24])
        if head.startswith(b"BM") and len(head) >= 26:
            w, h = struct.unpack("<ii", head[18:26])
            return abs(w), abs(h)
        if head[:6] in (b"GIF87a", b"GIF89a"):
            return struct.unpack("<HH", head[6:10])
        if head.startswith(b"\xff\xd8"):
            return _jpeg_size(f)
    return None


def read_image(
    path: Union[str, Path], max_pixels: int = MAX_PIXELS, label: Optional[str] = None
) -> np.ndarray:
    """Read an image file as BGR uint8 ``(H, W, 3)``; ``label`` names it in messages (default
    ``image PATH``; the Cog predictor says ``image``, never its temporary file).

    Raises:
        FileNotFoundError: no such file. UserError: larger than ``max_pixels`` (checked from the header
        before decoding when the format allows), empty, corrupt or not an image.
    """
    path = Path(path)
    label = label or f"image {path}"
    require_file(path, "image")
    size = image_size_from_header(path)
    if size is not None and size[0] * size[1] > max_pixels:
        raise UserError(
            f"{label} is {size[0]}x{size[1]} = {size[0] * size[1] / 1e6:.0f} megapixels, over "
            f"the {max_pixels / 1e6:.0f} megapixel limit; resize it first"
        )
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise UserError(f"cannot decode {label}: the file is empty, corrupt or not an image")
    if image.shape[0] * image.shape[1] > max_pixels:
        raise UserError(f"{label} is over the {max_pixels / 1e6:.0f} megapixel limit; resize it first")
    return image


def list_images(folder: Union[str, Path]) -> List[Path]:
    """Image files directly in ``folder`` (by extension), sorted; UserError if there are none."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise UserError(f"no images in folder {folder} (looked for {', '.join(IMAGE_EXTENSIONS)})")
    return files


def classify_input(source: str) -> Tuple[str, Union[Path, int]]:
    """``("webcam", index)``, ``("folder", path)``, ``("video", path)`` or ``("image", path)``.

    Raises:
        FileNotFoundError: the path does not exist. UserError: an unknown file type, or a FIFO, device
        or socket (refused by what it is, whatever its name, before anything reads it).
    """
    if source.strip().isdigit():
        return "webcam", int(source)
    path = Path(source)
    special = special_file_kind(path)
    if special is not None:
        raise UserError(
            f"input {path} is {special}, not a file: give an image, a video, a folder or a webcam index"
        )
    if path.is_dir():
        return "folder", path
    if not path.exists():
        raise FileNotFoundError(f"input {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return "video", path
    if suffix in IMAGE_EXTENSIONS or image_size_from_header(path) is not None:
        return "image", path
    raise UserError(
        f"input {path}: unknown file type {suffix!r}; expected an image ({', '.join(IMAGE_EXTENSIONS)}), "
        f"a video ({', '.join(VIDEO_EXTENSIONS)}), a folder or a webcam index"
    )


def silence_opencv_logging() -> None:
    """Mute OpenCV's own warnings (``[ WARN:0] ... readHeader``) and FFmpeg's (``[mjpeg @ 0x...] overread``
    while a truncated file is read): callers report failures themselves. FFmpeg's level is read when
    OpenCV first opens a video, so call this before that (``OPENCV_FFMPEG_LOGLEVEL`` set by the user wins)."""
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET


@contextlib.contextmanager
def native_stderr_muted() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null meanwhile (FFmpeg prints "moov atom not found" from C)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class TruncatedVideo(UserError):
    """A video stopped yielding frames before the frame count its header declares (truncated or corrupt);
    ``kept``: the frames processed (and written) before the damage."""

    def __init__(self, message: str, kept: int = 0) -> None:
        super().__init__(message)
        self.kept = kept


def _no_frame_reason(cap: cv2.VideoCapture, path: Optional[Path], label: Optional[str] = None) -> str:
    what = label or (f"video {path}" if path is not None else "the webcam")
    if path is not None and path.is_file() and path.stat().st_size == 0:
        return f"{what} is empty (0 bytes)"
    if cap.isOpened():
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if declared == 0:
            return f"{what} has no frames (0 frames in its header)"
        if declared > 0:
            return f"cannot read the first frame of {what}: it is truncated or corrupt"
    return (
        f"cannot open {what}: OpenCV could not read a frame from it (not a video, a codec OpenCV lacks, "
        "no frames, or cut short before its index)"
    )


def open_video(source: Union[Path, int], label: Optional[str] = None) -> cv2.VideoCapture:
    """Open a video file or webcam; UserError with a clear message when OpenCV cannot read a frame
    from it (empty file, no frames, truncated before the first frame, not a video). ``label`` names
    it in those messages (default ``video PATH`` / ``the webcam``).

    Frames come upright: OpenCV's FFmpeg backend turns them by the rotation in the file's metadata
    (``CAP_PROP_ORIENTATION_AUTO``, switched on here explicitly), so keypoints, drawings and the overlay
    video are in the orientation a phone shows. ``video_rotation(cap)`` tells the angle it applied.
    """
    target = source if isinstance(source, int) else str(source)
    path = None if isinstance(source, int) else Path(source)
    with native_stderr_muted():
        cap = cv2.VideoCapture(target)
        _auto_rotate(cap)
        ok = cap.isOpened() and cap.read()[0]
        reason = None if ok else _no_frame_reason(cap, path, label)
        cap.release()
    if reason is not None:
        raise UserError(reason)
    cap = cv2.VideoCapture(target)  # reopened: the test read must not eat the first frame
    _auto_rotate(cap)
    return cap


def _auto_rotate(cap: cv2.VideoCapture) -> None:
    if hasattr(cv2, "CAP_PROP_ORIENTATION_AUTO") and cap.isOpened():
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)


def video_rotation(cap: cv2.VideoCapture) -> int:
    """Degrees (0, 90, 180, 270) the file's metadata asks frames to be turned, as OpenCV reads it
    (``CAP_PROP_ORIENTATION_META``); 0 where OpenCV does not expose it (older builds, other backends)."""
    if not hasattr(cv2, "CAP_PROP_ORIENTATION_META"):
        return 0
    value = cap.get(cv2.CAP_PROP_ORIENTATION_META)
    return int(round(value)) % 360 if np.isfinite(value) else 0


def truncation_slack(declared: int, exact: bool = False) -> int:
    """Frames a file may end before its declared count without being called truncated: none where the
    container states the count (``exact``: MP4 / MOV, AVI, see :func:`frame_count_is_exact`); else the
    count is estimated from the duration (Matroska, WebM, MPEG), so 2 frames or 1%, whichever is more."""
    return 0 if exact else max(2, declared // 100)


def frame_count_is_exact(path: Union[str, Path]) -> bool:
    """Whether the file's container states its frame count (MP4 / MOV / 3GP: the sample table; AVI: the
    header and index), told from its first bytes, whatever the name: then OpenCV's
    ``CAP_PROP_FRAME_COUNT`` is the number of frames in the file, and any frame fewer is a truncation."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return True
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")


class VideoFrames:
    """``(frame index, BGR frame, time in seconds)`` for frames ``start``, ``start + stride``, ... before
    ``end``, at most ``max_frames`` of them. Skipped frames are grabbed, not decoded to BGR (exact on
    every codec, unlike seeking).

    Time: a frame's time is the container's timestamp (``CAP_PROP_POS_MSEC`` after the read: the
    presentation time of that frame, so a variable-frame-rate phone video keeps its real timing) when
    OpenCV gives one later than the previous frame's; otherwise (no timestamps, as from some webcams or
    raw streams, or a timestamp that goes backwards) the previous frame's time plus the frames between
    over ``fps``. The first frame read without a timestamp (0 after frame 0 counts as none) is at
    ``index / fps``.

    After the iteration, ``stopped_at`` is the index of the first frame that could not be read when
    that was before the frame count the header declares (less :func:`truncation_slack`: none when
    ``exact_count``, the container states the count) and before ``end``: the file is truncated or
    corrupt there. It stays None when the video simply ended.
    """

    def __init__(
        self,
        cap: cv2.VideoCapture,
        fps: float,
        start: int = 0,
        end: Optional[int] = None,
        stride: int = 1,
        max_frames: Optional[int] = None,
        exact_count: bool = False,
    ) -> None:
        if start < 0 or stride < 1 or (end is not None and end < 0):
            raise UserError(
                f"frame range needs start >= 0, end >= 0 and stride >= 1; got {start}, {end}, {stride}"
            )
        self.cap, self.fps = cap, fps if fps and fps > 0 else 30.0
        self.start, self.end, self.stride, self.max_frames = start, end, stride, max_frames
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.declared: Optional[int] = declared if declared > 0 else None
        self.exact_count = exact_count
        self.stopped_at: Optional[int] = None
        self._last: Optional[Tuple[int, float]] = None  # index and time of the last frame read

    def _time(self, index: int) -> float:
        stamp = self.cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if self._last is None:
            given = np.isfinite(stamp) and (stamp > 0 or (stamp == 0 and index == 0))
            t = stamp if given else index / self.fps
        else:
            last_index, last_t = self._last
            t = stamp if np.isfinite(stamp) and stamp > last_t else last_t + (index - last_index) / self.fps
        self._last = (index, t)
        return t

    def _failed(self, index: int) -> None:
        slack = truncation_slack(self.declared, self.exact_count) if self.declared else 0
        limit = self.declared - slack if self.declared else None
        if limit is not None and index < limit and (self.end is None or index < self.end):
            self.stopped_at = index

    def __iter__(self) -> Iterator[Tuple[int, np.ndarray, float]]:
        index, count = 0, 0
        end, max_frames = self.end, self.max_frames
        while (end is None or index < end) and (max_frames is None or count < max_frames):
            if index < self.start or (index - self.start) % self.stride:
                if not self.cap.grab():
                    return self._failed(index)
            else:
                ok, frame = self.cap.read()
                if not ok:
                    return self._failed(index)
                yield index, frame, self._time(index)
                count += 1
            index += 1


def iter_frames(
    cap: cv2.VideoCapture,
    start: int = 0,
    end: Optional[int] = None,
    stride: int = 1,
    max_frames: Optional[int] = None,
) -> Iterator[Tuple[int, np.ndarray]]:
    """``(frame index, BGR frame)`` of :class:`VideoFrames` (without the times)."""
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    for index, frame, _ in VideoFrames(cap, fps, start, end, stride, max_frames):
        yield index, frame


def chunked(items: Iterator, size: int) -> Iterator[list]:
    """Lists of up to ``size`` consecutive items."""
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
