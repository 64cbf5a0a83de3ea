"""The ``--out`` folder of ``dwpose predict``: made and proved writable before any model is loaded, and
removed again if the run fails before anything was written into it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import List

from dwpose.errors import UserError


def _missing_parents(folder: Path) -> List[Path]:
    """``folder`` and those of its parents that do not exist yet, the outermost last."""
    missing = []
    for path in (folder, *folder.parents):
        if path.exists() or path.is_symlink():
            break
        missing.append(path)
    return missing


def check_writable(folder: Path, option: str = "--out") -> None:
    """Create and delete a hidden file in ``folder``; one-line errors when that is not possible.

    Raises:
        PermissionError: the folder is not writable by this user. UserError: another reason (a
            read-only file system, no space left, ...).
    """
    try:
        fd, probe = tempfile.mkstemp(prefix=".dwpose-write-test-", dir=folder)
    except PermissionError:
        raise PermissionError(
            f"{option} {folder} is not writable: no permission to create files in it"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot write into {option} {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


class OutputFolder:
    """``with OutputFolder(path):`` makes ``path`` (and its missing parents), checks it is writable, and
    on the way out removes the folders it made when they are still empty, if the body raised (a user
    mistake, a crash, Ctrl-C) or called :meth:`failed` (a run that ends with an error status). A
    folder that existed before, or holds files, is kept.

    Raises (on entry):
        NotADirectoryError: ``path`` or a parent is a file. PermissionError / UserError: it cannot be
            made or written into (:func:`check_writable`).
    """

    def __init__(self, path: Path, option: str = "--out") -> None:
        self.path, self.option = Path(path), option
        self._made: List[Path] = []
        self._failed = False

    def __enter__(self) -> Path:
        folder, option = self.path, self.option
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"{option} {folder} exists and is not a folder")
        made = _missing_parents(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise NotADirectoryError(
                f"{option} {folder}: a part of the path is a file, not a folder"
            ) from None
        except PermissionError:
            raise PermissionError(f"{option} {folder} cannot be made: no permission") from None
        except OSError as exc:
            raise UserError(f"{option} {folder} cannot be made ({exc.strerror or exc})") from None
        self._made = made
        try:
            check_writable(folder, option)
        except BaseException:
            self._remove_empty()
            raise
        return folder

    def failed(self) -> None:
        """The run ends with an error status: remove the folders made on entry if they are empty."""
        self._failed = True

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None or self._failed:
            self._remove_empty()

    def _remove_empty(self) -> None:
        for path in self._made:  # innermost first; stops at the first that is not empty
            try:
                path.rmdir()
            except OSError:
                break
