"""What the Cog server takes from a client and what it leaves on disk (used by ``predict.py``).

- :func:`check_threshold`: the raw JSON value Cog hands over, accepted only as a real number in [0, 1];
- :data:`COG`: how the predictor's messages name its inputs (JSON names, no temporary paths);
- :func:`uploaded_file`: only a file Cog itself made for this request from a ``data:`` or ``http(s)``
  URL, never a path on the server (one message for every refusal, nothing on disk looked at first);
- :class:`OutputFolders`: one output folder per request, deleted as soon as Cog has read its files.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import math
import os
import pathlib
import select
import shutil
import stat
import struct
import tempfile
import threading
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from cog import Path

from dwpose.errors import UserError
from dwpose.inference.options import (  # noqa: F401  (check_count, check_flag: the video inputs' checks)
    VIDEO_ONLY,
    FrontEnd,
    check_count,
    check_flag,
    shown,
)

HOW_TO_SEND = "send the photo as a data: URL (data:image/jpeg;base64,...) or an http(s) URL"
REFUSED_IMAGE = (
    "image must be a data: URL (data:image/jpeg;base64,...) or an http(s) URL; "
    "paths on the server and file:// URLs are refused"
)
MISSING_IMAGE = f"image is required: {HOW_TO_SEND} (or a video as video)"
EMPTY_IMAGE = f"image is empty: {HOW_TO_SEND}"
REFUSED_VIDEO = (
    "video must be a data: URL (data:video/mp4;base64,...) or an http(s) URL; "
    "paths on the server and file:// URLs are refused"
)
EMPTY_VIDEO = "video is empty: send the video as a data: URL (data:video/mp4;base64,...) or an http(s) URL"
BOTH_GIVEN = "give image or video, not both"
# how the predictor's messages name its inputs: JSON names, never the server's temporary files
COG = FrontEnd(
    dashes=False,
    json_counts=True,
    video_only=(*VIDEO_ONLY, "max_frames"),
    not_a_video="for a video only (send it as video)",
    paths="none",
    keeps_partial=False,
)
STALE_OUTPUTS_S = 600.0  # output folders Cog never read (prediction failed after predict()) go after this


def check_threshold(value: Any) -> float:
    """``value`` as a float if it is a real number in [0, 1] (``0``, ``1``, ``0.3``); UserError otherwise.

    Without the ``.cog/openapi_schema.json`` that ``cog build`` writes, Cog 0.23.1 hands ``predict()``
    the raw JSON value: ``true``, ``"0.5"``, ``null`` and ``[0.3]`` all arrive as they are.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        ok = False
    else:
        ok = 0.0 <= value <= 1.0
    if not ok:
        raise UserError(f"threshold must be a number between 0 and 1 (such as 0.3), got {shown(value)}")
    return float(value)


def uploaded_video(video: Any) -> pathlib.Path:
    """:func:`uploaded_file` for the ``video`` input (its own messages: :data:`REFUSED_VIDEO`)."""
    if isinstance(video, str) and not video.strip():
        raise UserError(EMPTY_VIDEO)
    try:
        return uploaded_file(video)
    except UserError:
        raise UserError(REFUSED_VIDEO) from None


def uploaded_file(image: Any) -> pathlib.Path:
    """The file Cog made for this request from a ``data:`` or ``http(s)`` URL; UserError for anything else.

    Cog 0.23.1 turns only strings that start with ``data:``, ``http://`` or ``https://`` into a
    :class:`cog.Path`: it writes the bytes with ``tempfile.NamedTemporaryFile`` (``$TMPDIR/tmpXXXXXXXX``
    plus the URL's file name, mode 0600) and deletes the file after the prediction. Any other string (a
    server path, ``file://...``, ``../x``) reaches ``predict()`` as a plain ``str``, and a missing image as
    ``None``. Accepted: a :class:`cog.Path` that is a regular file (not a link) directly in the temp
    folder, named ``tmp*``, owned by this user. Every other value gets :data:`REFUSED_IMAGE`; a string
    is refused before anything on disk is looked at.
    """
    if image is None:
        raise UserError(MISSING_IMAGE)
    if isinstance(image, str) and not image.strip():
        raise UserError(EMPTY_IMAGE)
    if not isinstance(image, Path):
        raise UserError(REFUSED_IMAGE)
    path = pathlib.Path(image)
    try:
        info = path.lstat()
    except OSError:
        raise UserError(REFUSED_IMAGE) from None
    made_by_cog = (
        str(path.parent) == tempfile.gettempdir()
        and path.name.startswith("tmp")
        and stat.S_ISREG(info.st_mode)
        and info.st_uid == os.getuid()
    )
    if not made_by_cog:
        raise UserError(REFUSED_IMAGE)
    return path


class _Inotify:
    """Linux inotify through libc, reporting files closed without writing (``IN_CLOSE_NOWRITE``)."""

    CLOSE_NOWRITE = 0x10
    _EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of file name

    def __init__(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._add, self._rm = libc.inotify_add_watch, libc.inotify_rm_watch  # AttributeError off Linux
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._rm.argtypes = [ctypes.c_int, ctypes.c_int]
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")

    def watch(self, folder: pathlib.Path) -> int:
        wd = self._add(self.fd, os.fsencode(folder), self.CLOSE_NOWRITE)
        if wd < 0:
            raise OSError(ctypes.get_errno(), f"cannot watch {folder}")
        return wd

    def unwatch(self, wd: int) -> None:
        self._rm(self.fd, wd)

    def read(self, timeout: float) -> List[Tuple[int, int, str]]:
        """``(watch, mask, file name)`` of the events that arrive within ``timeout`` seconds."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return []
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return []
        events, at = [], 0
        while at + self._EVENT.size <= len(data):
            wd, mask, _, size = self._EVENT.unpack_from(data, at)
            name = data[at + self._EVENT.size : at + self._EVENT.size + size].rstrip(b"\0")
            events.append((wd, mask, os.fsdecode(name)))
            at += self._EVENT.size + size
        return events


class OutputFolders:
    """One folder per request under a private root, deleted as soon as Cog has read its files.

    Cog 0.23.1 sends the paths ``predict()`` returns to its server process, which reads each file
    (base64 into the response, or an upload) after ``predict()`` has returned; nothing tells the
    predictor when. So a thread watches each handed-over folder with inotify and deletes it once every
    file in it has been opened and closed without writing. Folders whose files are never read (the
    prediction failed after ``predict()`` returned), or every folder where inotify is missing, go
    ``stale_after`` seconds after the hand-over; the root goes when the process exits normally.
    """

    def __init__(self, stale_after: float = STALE_OUTPUTS_S) -> None:
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="dwpose-cog-"))
        self.stale_after = stale_after
        self._unread: Dict[pathlib.Path, Tuple[Set[str], float, Optional[int]]] = {}
        self._folder_of: Dict[int, pathlib.Path] = {}
        self._lock = threading.Lock()
        try:
            self._inotify: Optional[_Inotify] = _Inotify()
        except (OSError, AttributeError):
            self._inotify = None
        atexit.register(shutil.rmtree, self.root, True)
        threading.Thread(target=self._reap_forever, name="dwpose-cog-outputs", daemon=True).start()

    def new(self) -> pathlib.Path:
        """An empty folder for one request's files."""
        return pathlib.Path(tempfile.mkdtemp(dir=self.root))

    def hand_over(self, folder: pathlib.Path, files: Sequence[os.PathLike]) -> None:
        """``files`` (in ``folder``) are about to go to Cog: delete ``folder`` once all are read."""
        with self._lock:
            try:
                wd = self._inotify.watch(folder) if self._inotify is not None else None
            except OSError:  # out of inotify watches: the age limit still applies
                wd = None
            self._unread[folder] = ({pathlib.Path(f).name for f in files}, time.monotonic(), wd)
            if wd is not None:
                self._folder_of[wd] = folder

    def discard(self, folder: pathlib.Path) -> None:
        """Delete ``folder`` now (its files will not be handed to Cog)."""
        with self._lock:
            self._remove(folder)

    def waiting(self) -> int:
        """Folders handed over and not yet deleted."""
        with self._lock:
            return len(self._unread)

    def _remove(self, folder: pathlib.Path) -> None:
        _, _, wd = self._unread.pop(folder, (set(), 0.0, None))
        if wd is not None:
            self._folder_of.pop(wd, None)
            self._inotify.unwatch(wd)
        shutil.rmtree(folder, ignore_errors=True)

    def _reap(self, events: Iterable[Tuple[int, int, str]]) -> None:
        with self._lock:
            for wd, mask, name in events:
                folder = self._folder_of.get(wd)
                if folder is not None and mask & _Inotify.CLOSE_NOWRITE:
                    unread = self._unread[folder][0]
                    unread.discard(name)
                    if not unread:
                        self._remove(folder)
            oldest = time.monotonic() - self.stale_after
            for folder in [f for f, (_, handed, _) in self._unread.items() if handed < oldest]:
                self._remove(folder)

    def _reap_forever(self) -> None:
        from dwpose.inference.cog_fetch import sweep_unclaimed

        while True:
            sweep_unclaimed()
            if self._inotify is not None:
                self._reap(self._inotify.read(timeout=1.0))
            else:
                time.sleep(1.0)
                self._reap([])
