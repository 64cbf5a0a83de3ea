"""Value checks of the inference front ends' options, shared by ``dwpose predict``, ``dwpose app``, the
Cog predictor and the web page, and :class:`FrontEnd`: how each of them names its options and inputs.

Every number is checked when it is parsed: whole numbers within ``[least, MAX_COUNT]``, real numbers
finite (``nan``, ``inf`` refused) and within their range. The argparse types raise
``argparse.ArgumentTypeError`` with the message the user sees (``argument --stride: must be a whole
number >= 1, got 'x'``), never argparse's ``invalid <function name> value``. :func:`check_flag` and
:func:`check_count` check raw JSON values (the Cog predictor's inputs). Every refusal is a
:class:`~dwpose.errors.UserError`.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Tuple, Union

from dwpose.errors import UserError

MAX_COUNT = 2**31 - 1  # frame indices, counts and sizes: OpenCV and onnxruntime take 32-bit ints
_DEVICE = re.compile(r"(cpu|cuda(:[0-9]+)?)")
VIDEO_ONLY = ("track", "smooth", "det_every", "start", "end", "stride")  # refused with an image or a folder


@dataclass(frozen=True)
class FrontEnd:
    """How one front end's messages name its options and input files, written once for all messages.

    Attributes:
        dashes: options are command-line flags (``--det-every``), else JSON input names (``det_every``).
        json_counts: counts are raw JSON values where 0 means "not set" (``det_every``, ``end``,
            ``max_frames``) and ``null`` is refused; else ``None`` means "not set" (argparse defaults).
        video_only: the options refused unless the input is a video.
        not_a_video: what follows ``"--track, --smooth: "`` when such options come without a video.
        paths: how an input file is named: ``"path"`` (as given), ``"name"`` (its file name: an upload's
            temporary folder stays out of the message) or ``"none"`` (the server's temp file: not named).
        keeps_partial: the frames before the damage of a truncated video are handed back.
    """

    dashes: bool = True
    json_counts: bool = False
    video_only: Tuple[str, ...] = VIDEO_ONLY
    not_a_video: str = "for videos and webcams only"
    paths: str = "path"
    keeps_partial: bool = True

    def option(self, name: str) -> str:
        """``det_every`` as this front end's user writes it: ``--det-every`` or ``det_every``."""
        return f"--{name.replace('_', '-')}" if self.dashes else name

    def label(self, kind: str, path: Union[str, Path, int, None]) -> str:
        """``"image photo.jpg"``: ``kind`` and the file as :attr:`paths` says (``"none"``: ``kind``)."""
        if path is None or self.paths == "none":
            return kind
        return f"{kind} {Path(str(path)).name if self.paths == 'name' else path}"


COMMAND_LINE = FrontEnd()


def parse_count(text: str, least: int, most: int = MAX_COUNT) -> int:
    """``text`` as a whole number in ``[least, most]``; UserError with the user's message otherwise."""
    try:
        value = int(str(text).strip())
    except ValueError:
        value = None
    if value is None or not least <= value <= most:
        bound = f">= {least}" if most == MAX_COUNT else f"between {least} and {most}"
        raise UserError(f"must be a whole number {bound}, got {str(text)!r}")
    return value


def parse_number(
    text: Any, least: Optional[float] = None, most: Optional[float] = None, open_least: bool = False
) -> float:
    """``text`` as a finite real number within its bounds (``open_least``: strictly above ``least``).

    Raises:
        UserError: not a number, ``nan`` / ``inf``, or out of range; the message says which range.
    """
    try:
        value = float(str(text).strip()) if not isinstance(text, bool) else math.nan
    except ValueError:
        value = math.nan
    ok = math.isfinite(value)
    if ok and least is not None:
        ok = value > least if open_least else value >= least
    if ok and most is not None:
        ok = value <= most
    if not ok:
        raise UserError(f"must be {_range_text(least, most, open_least)}, got {str(text)!r}")
    return value


def _range_text(least: Optional[float], most: Optional[float], open_least: bool) -> str:
    if least is not None and most is not None:
        return f"a number between {least:g} and {most:g}"
    if least is not None:
        return f"a finite number {'>' if open_least else '>='} {least:g}"
    return "a finite number"


def _argparse_type(parse: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    """``parse`` as an argparse type whose UserError becomes the message argparse prints."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except UserError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


positive_int = _argparse_type(lambda t: parse_count(t, 1), "whole number >= 1")
non_negative_int = _argparse_type(lambda t: parse_count(t, 0), "whole number >= 0")
port_number = _argparse_type(lambda t: parse_count(t, 1, 65535), "port")
unit_float = _argparse_type(lambda t: parse_number(t, 0.0, 1.0), "number between 0 and 1")
positive_float = _argparse_type(lambda t: parse_number(t, 0.0, open_least=True), "number > 0")
non_negative_float = _argparse_type(lambda t: parse_number(t, 0.0), "number >= 0")


def check_device(device: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` (N a whole number); returns it unchanged, UserError otherwise."""
    if not isinstance(device, str) or _DEVICE.fullmatch(device.strip()) is None:
        raise UserError(f"device must be 'cpu' or 'cuda' (or 'cuda:N', N = 0, 1, ...), got {device!r}")
    return device.strip()


def parse_parts(text: str, known: Tuple[str, ...]) -> Tuple[str, ...]:
    """``"body, feet"`` -> ``("body", "feet")``: comma-separated names, at least one, each from ``known``.

    An empty list (``""``, ``","``, ``" , "``) is refused like an unknown name; :func:`check_parts`
    (the drawing's own check) orders them.
    """
    names = [p.strip() for p in text.split(",")]
    if not any(names):
        raise UserError(f"give at least one part, comma-separated from {','.join(known)}; got {text!r}")
    if not all(names):
        raise UserError(f"empty part name in {text!r}; give parts comma-separated from {','.join(known)}")
    return tuple(names)


def check_flag(name: str, value: Any) -> bool:
    """``value`` if it is a JSON boolean (``true`` / ``false``); UserError naming ``name`` otherwise."""
    if not isinstance(value, bool):
        raise UserError(f"{name} must be true or false, got {shown(value)}")
    return value


def check_count(name: str, value: Any, least: int) -> int:
    """``value`` if it is a JSON integer (``5``, ``5.0``) from ``least`` to :data:`MAX_COUNT`;
    UserError otherwise."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and float(value).is_integer() and value >= least
    if not ok:
        raise UserError(f"{name} must be a whole number >= {least}, got {shown(value)}")
    if value > MAX_COUNT:
        raise UserError(f"{name} must be a whole number up to {MAX_COUNT}, got {shown(value)}")
    return int(value)


def shown(value: Any) -> str:
    """``value`` as the client sent it (JSON, else ``repr``), cut to 40 characters, for a refusal."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
