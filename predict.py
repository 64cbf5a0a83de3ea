"""Cog predictor for DWPose: an image in, the Cog ``.npz`` of keypoints and the keypoints drawn over it out.

Same interface as the original DWPose Cog wrapper (inputs ``image``, ``threshold``; outputs the
``.npz`` and a picture), without its defects: hands stay with their own person, the crop is converted
to RGB before the RGB mean/std, and the picture is an overlay on the photo.

Models (ONNX only, so the image needs neither torch nor mm*; read once in ``setup()``):

- ``DWPOSE_POSE_MODEL``: pose model, ``MODEL.onnx`` (e.g. ``dw-ll_ucoco_384.onnx``) or ``CONFIG::CHECKPOINT``
  (mmpose, needs the training stack); default ``ckpts/dw-ll_ucoco_384.onnx`` beside this file.
- ``DWPOSE_DET_MODEL``: person detector ONNX, MMDeploy end2end or raw YOLOX layout; default
  ``ckpts/yolox_l.onnx`` beside this file.
- ``DWPOSE_DEVICE``: ``cpu`` (default) or ``cuda`` (needs onnxruntime-gpu).

What the server accepts and keeps:

- ``image`` is the photo itself, as a ``data:`` URL or an ``http(s)`` URL that Cog downloads. A path
  on the server, a ``file://`` URL or anything else is refused with one message (:data:`REFUSED_IMAGE`)
  before any file is looked at, so the answer says nothing about the server's disk.
- ``threshold`` is a JSON number in [0, 1]; booleans, strings, ``null`` and lists are refused.
- Each request writes its two files into its own folder, deleted as soon as Cog has read them.
- Up to 64 requests are taken at once (``@cog.concurrent(max=64)``, an async ``predict``); they wait
  in a queue and run one after another in one inference thread (onnxruntime already uses every core
  for one image). The bare server reads the limit only from ``COG_MAX_CONCURRENCY``; without it,
  concurrent clients get HTTP 409 "At capacity".

Run the real HTTP server without Docker::

    COG_PREDICT_TYPE_STUB=predict.py:Predictor COG_MAX_CONCURRENCY=64 PORT=5000 \\
        python -m cog.server.http --host 127.0.0.1
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import ctypes.util
import json
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
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import cog
from cog import BasePredictor, Input, Path

from dwpose.inference.boxes import load_detector
from dwpose.inference.draw import draw_poses
from dwpose.inference.pipeline import TopDownPipeline
from dwpose.inference.pose_models import load_pose_model
from dwpose.inference.runtime import use_shared_thread_pool
from dwpose.inference.sources import read_image
from dwpose.inference.writers import write_cog_npz, write_image

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_POSE_MODEL = "ckpts/dw-ll_ucoco_384.onnx"
DEFAULT_DET_MODEL = "ckpts/yolox_l.onnx"
HOW_TO_SEND = "send the photo as a data: URL (data:image/jpeg;base64,...) or an http(s) URL"
REFUSED_IMAGE = (
    "image must be a data: URL (data:image/jpeg;base64,...) or an http(s) URL; "
    "paths on the server and file:// URLs are refused"
)
MISSING_IMAGE = f"image is required: {HOW_TO_SEND}"
EMPTY_IMAGE = f"image is empty: {HOW_TO_SEND}"
STALE_OUTPUTS_S = 600.0  # output folders Cog never read (prediction failed after predict()) go after this


def model_spec(value: str) -> List[str]:
    """``"MODEL.onnx"`` -> ``[path]``; ``"CONFIG::CHECKPOINT"`` -> ``[config, checkpoint]``; relative
    paths are taken from this file's folder."""
    parts = value.split("::") if "::" in value else [value]
    return [str(p if pathlib.Path(p).is_absolute() else HERE / p) for p in parts]


def check_threshold(value: Any) -> float:
    """``value`` as a float if it is a real number in [0, 1] (``0``, ``1``, ``0.3``); ValueError otherwise.

    Without the ``.cog/openapi_schema.json`` that ``cog build`` writes, Cog 0.23.1 hands ``predict()``
    the raw JSON value: ``true``, ``"0.5"``, ``null`` and ``[0.3]`` all arrive as they are.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        ok = False
    else:
        ok = 0.0 <= value <= 1.0
    if not ok:
        try:
            shown = json.dumps(value)
        except (TypeError, ValueError):
            shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise ValueError(f"threshold must be a number between 0 and 1 (such as 0.3), got {shown}")
    return float(value)


def uploaded_file(image: Any) -> pathlib.Path:
    """The file Cog made for this request from a ``data:`` or ``http(s)`` URL; ValueError for anything else.

    Cog 0.23.1 turns only strings that start with ``data:``, ``http://`` or ``https://`` into a
    :class:`cog.Path`: it writes the bytes with ``tempfile.NamedTemporaryFile`` (``$TMPDIR/tmpXXXXXXXX``
    plus the URL's file name, mode 0600) and deletes the file after the prediction. Any other string (a
    server path, ``file://...``, ``../x``) reaches ``predict()`` as a plain ``str``, and a missing image as
    ``None``. Accepted: a :class:`cog.Path` that is a regular file (not a link) directly in the temp
    folder, named ``tmp*``, owned by this user. Every other value gets :data:`REFUSED_IMAGE`; a string
    is refused before anything on disk is looked at.
    """
    if image is None:
        raise ValueError(MISSING_IMAGE)
    if isinstance(image, str) and not image.strip():
        raise ValueError(EMPTY_IMAGE)
    if not isinstance(image, Path):
        raise ValueError(REFUSED_IMAGE)
    path = pathlib.Path(image)
    try:
        info = path.lstat()
    except OSError:
        raise ValueError(REFUSED_IMAGE) from None
    made_by_cog = (
        str(path.parent) == tempfile.gettempdir()
        and path.name.startswith("tmp")
        and stat.S_ISREG(info.st_mode)
        and info.st_uid == os.getuid()
    )
    if not made_by_cog:
        raise ValueError(REFUSED_IMAGE)
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
        while True:
            if self._inotify is not None:
                self._reap(self._inotify.read(timeout=1.0))
            else:
                time.sleep(1.0)
                self._reap([])


class Predictor(BasePredictor):
    """Whole-body (133 keypoints) pose of every person in a photo."""

    def setup(self) -> None:
        """Load the pose model and the detector named by ``DWPOSE_POSE_MODEL`` / ``DWPOSE_DET_MODEL``."""
        device = os.environ.get("DWPOSE_DEVICE", "cpu")
        use_shared_thread_pool()  # the worker process is ours: detector and pose share one pool
        pose = load_pose_model(model_spec(os.environ.get("DWPOSE_POSE_MODEL", DEFAULT_POSE_MODEL)), device)
        det = load_detector(model_spec(os.environ.get("DWPOSE_DET_MODEL", DEFAULT_DET_MODEL)), device)
        self.pipeline = TopDownPipeline(pose, det)
        self.outputs = OutputFolders()
        # One inference at a time, in arrival order: the other requests wait in this executor's queue.
        self.inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dwpose-inference")
        slots = os.environ.get("COG_MAX_CONCURRENCY", "")
        if not (slots.isdigit() and int(slots) > 1):
            print(
                "dwpose: COG_MAX_CONCURRENCY is unset or 1, so this server takes one request at a time "
                "and answers concurrent ones with HTTP 409; start it with COG_MAX_CONCURRENCY=64"
            )

    @cog.concurrent(max=64)
    async def predict(
        self,
        image: Path = Input(  # noqa: B008
            description="Photo with people (JPEG, PNG, BMP, WebP, TIFF) as a data: URL or an http(s) URL"
        ),
        threshold: float = Input(  # noqa: B008
            description="Keypoint score threshold; points below it are -1 in the .npz",
            default=0.3,
            ge=0.0,
            le=1.0,
        ),
    ) -> List[Path]:
        """Returns ``[keypoints.npz, keypoints.png]``: ``person_i`` -> ``{"body": (18, 2), "face": (68, 2),
        "hands": (2, 21, 2)}`` relative coordinates (or -1), and the poses drawn over the photo."""
        threshold = check_threshold(threshold)
        photo = uploaded_file(image)
        return await asyncio.get_running_loop().run_in_executor(self.inference, self._run, photo, threshold)

    def _run(self, photo: pathlib.Path, threshold: float) -> List[Path]:
        """The blocking part of :meth:`predict`, in the inference thread."""
        try:
            picture = read_image(photo)
        except (ValueError, FileNotFoundError) as exc:  # the message without the server's temp path
            raise ValueError(str(exc).replace(f" {photo}", "")) from None
        result = self.pipeline(picture)
        overlay = draw_poses(picture, result.keypoints, result.scores, threshold)
        folder = self.outputs.new()
        try:
            files = [
                write_cog_npz(
                    folder / "keypoints.npz", result.keypoints, result.scores, result.image_size, threshold
                ),
                write_image(folder / "keypoints.png", overlay),
            ]
        except BaseException:
            self.outputs.discard(folder)
            raise
        self.outputs.hand_over(folder, files)
        return [Path(f) for f in files]
