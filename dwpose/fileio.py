"""Files on disk: atomic writes that honour the umask, reading JSON, and one check for "is this a file".

Every result, checkpoint, table and annotation the project writes goes through :func:`atomic_path`:
the content is written to a hidden temporary file in the destination folder, flushed to disk and
renamed over the destination, so a crash or a ``kill -9`` leaves either the old file or the new one,
never half of one. The temporary file is created with mode ``0o666`` and the kernel applies the umask
(and a default ACL, if the folder has one), exactly as for a plain ``open(path, "w")``: under umask
022 the result is ``-rw-r--r--`` (``tempfile.mkstemp`` would make it ``-rw-------``).

Writers: :func:`atomic_path` (any writer that wants a file name), :func:`atomic_open`,
:func:`atomic_write_bytes` / ``_text`` / ``_json``, :func:`atomic_write_many` (a set of files, all or
none), :func:`atomic_write_image` and
:class:`AtomicVideoWriter` (OpenCV, imported when called). Reading: :func:`read_json`, whose errors are
one line (``FileNotFoundError`` / ``UserError``) for every caller.

Standard library only at import (OpenCV is imported by the image and video writers when they run):
the ONNX-only ``dwpose predict`` imports it without torch.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import zipfile
from pathlib import Path
from typing import IO, Any, Dict, Iterator, List, Tuple, Union

from dwpose.errors import UserError

PathLike = Union[str, os.PathLike]

# File name extensions (lower case) that ``dwpose predict`` and the UBody tools treat as videos / images.
VIDEO_EXTENSIONS: Tuple[str, ...] = (
    ".mp4", ".avi", ".mkv", ".mov", ".webm", ".flv", ".m4v", ".mpg", ".mpeg", ".wmv",
)  # fmt: skip
IMAGE_EXTENSIONS: Tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def special_file_kind(path: PathLike) -> str | None:
    """``"a FIFO"``, ``"a character device"``, ``"a block device"`` or ``"a socket"`` when ``path`` (links
    followed) is one of those, which block or never end when read; None for a file, a folder or nothing."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):  # fmt: skip
        if test(mode):
            return name
    return None


def require_file(path: PathLike, what: str = "file") -> Path:
    """``path`` as a Path if it is a regular file (or a link to one).

    Raises:
        IsADirectoryError: ``path`` is a folder ("``what`` PATH is a folder, not a file").
        UserError: it is a FIFO, a device or a socket ("``what`` PATH is a FIFO, not a file"), refused
            before anything opens it (reading one blocks or never ends).
        FileNotFoundError: nothing is there ("``what`` PATH does not exist").
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{what} {path} is a folder, not a file")
    if not path.is_file():
        special = special_file_kind(path)
        if special is not None:
            raise UserError(f"{what} {path} is {special}, not a file")
        raise FileNotFoundError(f"{what} {path} does not exist")
    return path


def current_umask() -> int:
    """The process umask, read without changing it (``/proc``), else by a set-and-restore."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # not thread-safe, hence only the fallback
    os.umask(mask)
    return mask


def _create_temp(folder: Path, name: str, suffix: str) -> Path:
    """Create an empty, new hidden file ``.<name>.<random><suffix>`` in ``folder`` (mode 0o666 & ~umask)."""
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"cannot create a temporary file in {folder}")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform / file system; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is synced and renamed over ``path``.

    For writers that want a file name (``cv2.VideoWriter``, ``torch.save``, MMEngine). The file
    already exists (empty, mode ``0o666 & ~umask``) and must be written in place, not replaced. On an
    exception the temporary file is removed and ``path`` is left as it was. ``suffix`` ends the
    temporary name: writers that pick a format by extension need the real one (``".mp4"``).

    Example:
        >>> with atomic_path("out/clip.mp4", suffix=".mp4") as tmp:  # doctest: +SKIP
        ...     cv2.imwrite(str(tmp), picture)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(path.parent, path.name, suffix)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """``open(path, mode)`` for writing, atomically (see :func:`atomic_path`); ``mode`` is "w" or "wb"."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', got {mode!r}")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as f:
        yield f


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path`` as a Path."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path`` as a Path."""
    with atomic_open(path, "w") as f:
        f.write(text)
    return Path(path)


def atomic_write_json(path: PathLike, obj: Any, **dumps_kwargs: Any) -> Path:
    """Dump ``obj`` as JSON (``json.dumps(obj, **dumps_kwargs)``, UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, json.dumps(obj, **dumps_kwargs).encode("utf-8"))


def atomic_write_many(files: Dict[PathLike, bytes]) -> List[Path]:
    """Write several files as one set: all of them, or none (``{path: content}``, in that order).

    Each content goes to a temporary file beside its destination (see :func:`atomic_path`); only when
    every one is written and synced are they renamed into place. If anything fails or is interrupted
    (Ctrl-C) before the last rename, the temporary files and the destinations already renamed are
    removed, so the set is never left half written. Returns the destinations.
    """
    done: List[Path] = []
    pending: List[Tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = _create_temp(path.parent, path.name, ".tmp")
            pending.append((tmp, path))
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        for tmp, path in pending:
            os.replace(tmp, path)
            done.append(path)
    except BaseException:
        for tmp, path in pending:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path if path in done else tmp)
        raise
    for folder in {path.parent for path in done}:
        _fsync_folder(folder)
    return done


def write_zip(target: PathLike, files: List[Path], root: PathLike) -> Path:
    """A deflated zip of ``files`` (those that exist), each stored under its path relative to ``root``,
    written atomically (:func:`atomic_path`): a video's per-frame downloads in every front end."""
    root = Path(root)
    with atomic_path(target, suffix=".zip") as tmp, \
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return Path(target)


def read_json(path: PathLike, what: str = "JSON file") -> Any:
    """Load a JSON file.

    Raises:
        FileNotFoundError / IsADirectoryError: see :func:`require_file` ("``what`` PATH does not exist").
        UserError: broken JSON, in one line ("``what`` PATH is not valid JSON (...)").
    """
    from dwpose.errors import first_line

    require_file(path, what)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{what} {path} is not valid JSON ({first_line(exc)})") from exc


def atomic_write_image(path: PathLike, image: Any, params: Tuple[int, ...] = ()) -> Path:
    """Encode a BGR uint8 ``(H, W, 3)`` image by the extension of ``path`` (OpenCV) and write it atomically.

    Args:
        params: OpenCV encoder flags, e.g. ``(cv2.IMWRITE_JPEG_QUALITY, 95)``.
    """
    import cv2

    path = Path(path)
    ok, encoded = cv2.imencode(path.suffix or ".png", image, list(params))
    if not ok:
        raise UserError(f"cannot encode an image as {path.suffix!r} for {path}")
    return atomic_write_bytes(path, encoded.tobytes())


class AtomicVideoWriter:
    """``cv2.VideoWriter`` (mp4v) into a temporary file beside ``path``, renamed into place on ``close()``.

    Example:
        >>> writer = AtomicVideoWriter(Path("out/clip_pose.mp4"), 30.0, (640, 480))  # doctest: +SKIP
        >>> writer.write(frame); writer.close()  # doctest: +SKIP
    """

    def __init__(self, path: PathLike, fps: float, size: Tuple[int, int]) -> None:
        import cv2

        self.path = path = Path(path)
        self._target = atomic_path(path, suffix=path.suffix)  # OpenCV picks the container by extension
        tmp = self._target.__enter__()
        self.writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            error = UserError(f"cannot write video {path}: OpenCV has no mp4v encoder here")
            self._target.__exit__(UserError, error, None)  # removes the temporary file
            raise error

    def write(self, frame: Any) -> None:
        """Append one BGR uint8 ``(H, W, 3)`` frame of the size given at construction."""
        self.writer.write(frame)

    def close(self) -> None:
        """Finish the file and move it into place (also after an interruption: the frames so far)."""
        self.writer.release()
        self._target.__exit__(None, None, None)
