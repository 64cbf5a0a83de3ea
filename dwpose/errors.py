"""One rule for user mistakes, shared by the ``dwpose`` command, the tools and the root scripts.

A user mistake becomes one ``PROG: error: ...`` line on stderr and exit code 2; anything else is a bug
and keeps its traceback (exit code 1). A user mistake is

- a :class:`UserError`, raised by this project's code where it recognises a bad path, option, value or
  file (its message is the whole error line);
- an OS error about a path: a missing file or folder, a folder where a file should be, no permission;
- one of the mistakes mmpose / mmengine / mmcv report in their own words: an annotation file that does
  not exist, a config that names a component no registry knows, an image that does not decode.

A plain ``ValueError`` (or ``TypeError``, ``KeyError``, ...) is a bug, wherever it is raised: numpy,
torch and this project's internal checks raise those. Standard library only, so that light entry
points (``dwpose predict`` with ONNX models) can use it without importing torch or mm*.

Exit statuses of every command and tool: 0 done; 1 a bug (with its traceback) or a failed check
(``--check``); 2 a user mistake (one ``error:`` line, nothing done); 3 finished, but some inputs were
skipped (one line per skipped input, then a summary line); 130 interrupted.
"""

from __future__ import annotations

import re
import sys
from typing import Callable, Optional

EXIT_USER_ERROR = 2
EXIT_PARTIAL = 3  # finished, some inputs skipped


class UserError(ValueError):
    """A user mistake recognised where it is raised: a bad path, option, value or file.

    Its message is the whole ``error:`` line (no traceback), written once, where the mistake is
    recognised. It subclasses ``ValueError`` so that callers catching bad values keep working; a plain
    ``ValueError`` is a bug.
    """


USER_ERRORS = (UserError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)
_IMAGE_ERR = re.compile(r"failed to load image: (\S+)")
_MISSING_FILE = re.compile(r"No such file or directory: '([^']+)'")
_MISSING_ASSERT = re.compile(r"\bfile\b.*does ?n[o']t exist", re.IGNORECASE)
_UNKNOWN_TYPE = re.compile(r"is not in the \S+\s+registry")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type name when the message is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def user_error_message(exc: BaseException) -> Optional[str]:
    """One line for an exception caused by user input, or ``None`` for a genuine bug."""
    text = str(exc)
    if isinstance(exc, USER_ERRORS):
        return first_line(exc)
    m = _IMAGE_ERR.search(text)
    if m:  # mmcv / mmpose LoadImage on a file that is not an image
        return f"cannot decode image {m.group(1)} (corrupt or not an image)"
    if isinstance(exc, AssertionError) and _MISSING_ASSERT.search(text):
        # mmpose's missing-file asserts: "Annotation file `a.json`does not exist"
        msg = " ".join(first_line(exc).replace("`", " ").split())
        if msg.lower().startswith("annotation file"):
            msg += " (is data_root right? --cfg-options data_root=DIR/ moves every data path)"
        return msg
    if isinstance(exc, KeyError) and _UNKNOWN_TYPE.search(text):  # mmengine's Registry.build
        return f"config names an unknown component: {text.strip(chr(39)).strip()}"
    if "No such file or directory" in text:
        found = _MISSING_FILE.search(text)
        return f"file not found: {found.group(1)}" if found else first_line(exc)
    return None


def guarded(fn: Callable[[], Optional[int]], prog: str = "dwpose") -> int:
    """Run ``fn`` and return its exit code; user mistakes give one error line and exit code 2."""
    try:
        return int(fn() or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - re-raised below unless it is a user mistake
        msg = user_error_message(exc)
        if msg is None:
            raise
        print(f"{prog}: error: {msg}", file=sys.stderr)
        return EXIT_USER_ERROR
