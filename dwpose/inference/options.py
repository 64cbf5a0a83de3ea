"""Value checks of the inference front ends' options, shared by ``dwpose predict``, ``dwpose app``, the
Cog predictor and the web page.

Every number is checked when it is parsed: whole numbers within ``[least, MAX_COUNT]``, real numbers
finite (``nan``, ``inf`` refused) and within their range. The argparse types raise
``argparse.ArgumentTypeError`` with the message the user sees (``argument --stride: must be a whole
number >= 1, got 'x'``), never argparse's ``invalid <function name> value``.
"""

from __future__ import annotations

import argparse
import math
import re
from typing import Any, Callable, Optional, Tuple

MAX_COUNT = 2**31 - 1  # frame indices, counts and sizes: OpenCV and onnxruntime take 32-bit ints
_DEVICE = re.compile(r"(cpu|cuda(:[0-9]+)?)")


def parse_count(text: str, least: int, most: int = MAX_COUNT) -> int:
    """``text`` as a whole number in ``[least, most]``; ValueError with the user's message otherwise."""
    try:
        value = int(str(text).strip())
    except ValueError:
        value = None
    if value is None or not least <= value <= most:
        bound = f">= {least}" if most == MAX_COUNT else f"between {least} and {most}"
        raise ValueError(f"must be a whole number {bound}, got {str(text)!r}")
    return value


def parse_number(
    text: Any, least: Optional[float] = None, most: Optional[float] = None, open_least: bool = False
) -> float:
    """``text`` as a finite real number within its bounds (``open_least``: strictly above ``least``).

    Raises:
        ValueError: not a number, ``nan`` / ``inf``, or out of range; the message says which range.
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
        raise ValueError(f"must be {_range_text(least, most, open_least)}, got {str(text)!r}")
    return value


def _range_text(least: Optional[float], most: Optional[float], open_least: bool) -> str:
    if least is not None and most is not None:
        return f"a number between {least:g} and {most:g}"
    if least is not None:
        return f"a finite number {'>' if open_least else '>='} {least:g}"
    return "a finite number"


def _argparse_type(parse: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    """``parse`` as an argparse type whose ValueError becomes the message argparse prints."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
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
    """``cpu``, ``cuda`` or ``cuda:N`` (N a whole number); returns it unchanged, ValueError otherwise."""
    if not isinstance(device, str) or _DEVICE.fullmatch(device.strip()) is None:
        raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:N', N = 0, 1, ...), got {device!r}")
    return device.strip()


def parse_parts(text: str, known: Tuple[str, ...]) -> Tuple[str, ...]:
    """``"body, feet"`` -> ``("body", "feet")``: comma-separated names, at least one, each from ``known``.

    An empty list (``""``, ``","``, ``" , "``) is refused like an unknown name; :func:`check_parts`
    (the drawing's own check) orders them.
    """
    names = [p.strip() for p in text.split(",")]
    if not any(names):
        raise ValueError(f"give at least one part, comma-separated from {','.join(known)}; got {text!r}")
    if not all(names):
        raise ValueError(f"empty part name in {text!r}; give parts comma-separated from {','.join(known)}")
    return tuple(names)
