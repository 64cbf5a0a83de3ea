"""Command-line options of the black canvas (``--detect-resolution``, ``--stick-scale``, ``--hand-colors``,
``--draw-feet``), shared by ``dwpose predict`` and ``dwpose app``."""

from __future__ import annotations

import argparse
from typing import Union

from dwpose.inference.controlnet_draw import (
    HAND_COLOR_STYLES,
    MAX_DETECT_RESOLUTION,
    ControlNetStyle,
    check_detect_resolution,
    check_stick_scale,
)
from dwpose.inference.draw import check_parts
from dwpose.inference.wholebody_rules import RuleOptions


def _detect_resolution(text: str) -> int:
    try:
        return check_detect_resolution(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 0 (the picture's own size) or a whole number from 64 to {MAX_DETECT_RESOLUTION}, "
            f"got {text!r}"
        ) from None


def _stick_scale(text: str) -> Union[int, str]:
    try:
        return check_stick_scale("auto" if text == "auto" else int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 'auto' or a whole number from 1 to 64, got {text!r}"
        ) from None


def add_canvas_arguments(parser: argparse.ArgumentParser, draw_feet: bool = True) -> None:
    """The black canvas's options (default: exactly what ControlNet's DWPose annotator draws);
    ``draw_feet``: also ``--draw-feet`` (``dwpose app`` has its parts on the page instead)."""
    group = parser.add_argument_group(
        "black canvas (--canvas black)",
        "default: what ControlNet's DWPose annotator draws; see docs/controlnet_drawing.md",
    )
    group.add_argument(
        "--detect-resolution",
        type=_detect_resolution,
        default=512,
        metavar="N",
        help="short side of the map the poses are drawn on, sides rounded to multiples of 64, then resized "
        "to the picture's size, as the annotator (default 512; 0 = the picture's own size)",
    )
    group.add_argument(
        "--stick-scale",
        type=_stick_scale,
        default=1,
        metavar="auto|N",
        help="body stick width factor (default 1, the annotator's); auto = the SDXL ControlNet rule "
        "(1 below 500 px, else 2 + long side // 1000, at most 7)",
    )
    group.add_argument(
        "--hand-colors",
        choices=HAND_COLOR_STYLES,
        default="annotator",
        help="annotator: both hands alike (default); left-right: the right hand's points in the right "
        "wrist's lime green",
    )
    if not draw_feet:
        return
    group.add_argument(
        "--draw-feet",
        action="store_true",
        help="also draw the feet (on black in OpenPose BODY_25 foot colours); the same as feet in --parts",
    )


def add_rule_arguments(parser: argparse.ArgumentParser) -> None:
    """The whole-body rules' options (both off by default)."""
    group = parser.add_argument_group("whole-body rules", "docs/controlnet_drawing.md has their hit rates")
    group.add_argument(
        "--hide-faces-from-behind",
        action="store_true",
        help="a person whose nose and eyes are not seen while an ear or both shoulders are is seen from "
        "behind: its face is not drawn and is written with score 0",
    )
    group.add_argument(
        "--fix-hands",
        action="store_true",
        help="swap a person's hands when each lies at the other side's body wrist; of two hands at one "
        "body wrist keep the one of that side (the other gets score 0)",
    )


def rule_options(args: argparse.Namespace) -> RuleOptions:
    """The :class:`RuleOptions` the parsed options ask for."""
    return RuleOptions(faces_from_behind=args.hide_faces_from_behind, fix_hands=args.fix_hands)


def canvas_style(args: argparse.Namespace) -> ControlNetStyle:
    """The :class:`ControlNetStyle` the parsed options ask for."""
    return ControlNetStyle(
        detect_resolution=args.detect_resolution,
        stick_scale=args.stick_scale,
        hand_colors=args.hand_colors,
    )


def parts_with_feet(parts: tuple, draw_feet: bool) -> tuple:
    """``parts`` plus ``"feet"`` when ``--draw-feet`` is given (in ``draw.PARTS`` order)."""
    return check_parts((*parts, "feet")) if draw_feet else parts
