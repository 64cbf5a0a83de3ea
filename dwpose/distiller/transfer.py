"""Turn a distiller checkpoint into a plain pose-model checkpoint (``pth_transfer.py``).

Stage 1: ``student.*`` -> ``*`` (teacher and align conv dropped).
Stage 2: ``teacher.backbone.*`` -> ``backbone.*``, ``teacher.neck.*`` -> ``neck.*``,
``student.head.*`` -> ``head.*`` (everything else dropped).

The stage is read from the keys: a stage-2 ``TwoStageDistiller`` has no student backbone. mmpose's
own ``DWPoseDistiller`` builds a full student in both stages; for its checkpoints the stage comes
from ``two_dis`` in the config text MMEngine stores in ``meta`` (absent: stage 1, its default).
The input is read by :mod:`dwpose.engine.checkpoint` (safe unpickling unless
``--trust-checkpoint``; DDP's ``module.`` prefix stripped). The output holds ``meta`` (made of plain
Python values, so torch's weights-only loader reads it with no allow-list) and ``state_dict`` only,
and is written atomically. ``state_dict`` of an MMEngine checkpoint already holds the EMA weights
(the EMA hook swaps them in at save time).
"""

from __future__ import annotations

import argparse
import os
import re
from collections import OrderedDict
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
from torch import Tensor

from dwpose.errors import UserError

STAGE1_MAP = (("student.", ""),)
STAGE2_MAP = (("teacher.backbone.", "backbone."), ("teacher.neck.", "neck."), ("student.head.", "head."))


def _require_distiller(keys: Sequence[str]) -> None:
    if not any(k.startswith("teacher.") for k in keys) or not any(k.startswith("student.") for k in keys):
        raise UserError("not a distiller checkpoint (it has no teacher.* and student.* weights); "
                        "a plain pose checkpoint needs no conversion")


def detect_stage(state_dict: Mapping[str, Tensor], meta: Optional[Mapping] = None) -> int:
    """1 or 2, from the keys of a distiller ``state_dict`` (and ``meta['cfg']`` for mmpose's).

    Raises:
        UserError: not a distiller checkpoint, or the stage cannot be told.
    """
    keys = list(state_dict)
    _require_distiller(keys)
    if not any(k.startswith("student.backbone.") for k in keys):
        return 2
    if not any(k.startswith("distill_losses.") for k in keys):
        return 1
    cfg_text = str((meta or {}).get("cfg", ""))
    found = re.search(r"two_dis\s*=\s*(True|False)", cfg_text)
    if found is None and "DWPoseDistiller" in cfg_text:
        return 1  # mmpose's stage-1 configs leave two_dis at its default, False
    if found is None:
        raise UserError("mmpose DWPoseDistiller checkpoint without its config in meta: the stage "
                        "cannot be told from the keys; pass two_dis explicitly")
    return 2 if found.group(1) == "True" else 1


def convert_state_dict(state_dict: Mapping[str, Tensor], stage: int) -> OrderedDict[str, Tensor]:
    """The plain-model ``state_dict`` of a distiller ``state_dict`` of the given stage.

    Example:
        >>> dict(convert_state_dict({'student.head.w': 1, 'teacher.head.w': 2, 'align.w': 3}, 1))
        {'head.w': 1}
    """
    if stage not in (1, 2):
        raise ValueError(f"stage must be 1 or 2, got {stage!r}")
    mapping = STAGE1_MAP if stage == 1 else STAGE2_MAP
    out: OrderedDict[str, Tensor] = OrderedDict()
    for key, value in state_dict.items():
        for old, new in mapping:
            if key.startswith(old):
                out[new + key.removeprefix(old)] = value
                break
    if not out:
        raise UserError(f"no weights left after the stage-{stage} conversion")
    return out


def plain_python(obj: Any) -> Any:
    """``obj`` with numpy arrays/scalars made lists/numbers and unknown objects made strings."""
    if isinstance(obj, Mapping):
        return {str(k): plain_python(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain_python(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(plain_python(v) for v in obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool, Tensor)):
        return obj
    return str(obj)


def _resolve_stage(state: Mapping[str, Tensor], meta: Mapping, two_dis: Optional[bool]) -> int:
    """The stage to convert: detected, checked against ``two_dis`` when that is given."""
    if two_dis is not None and any(k.startswith("distill_losses.") for k in state):
        _require_distiller(list(state))
        return 2 if two_dis else 1  # mmpose's keys cannot tell the stage: the flag decides
    detected = detect_stage(state, meta)
    if two_dis is not None and (2 if two_dis else 1) != detected:
        said = "--two_dis" if two_dis else "two_dis=False"
        has = "has no" if detected == 2 else "has a"
        raise UserError(f"{said} contradicts the checkpoint: it is a stage-{detected} distiller "
                        f"checkpoint (it {has} student backbone)")
    return detected


def convert_checkpoint(ckpt: Mapping, two_dis: Optional[bool] = None) -> Tuple[Dict[str, Any], int]:
    """Convert a loaded distiller checkpoint dict; returns ``({'meta', 'state_dict'}, stage)``.

    Args:
        ckpt: a checkpoint as MMEngine saves it (``state_dict``, ``meta``, ...).
        two_dis: ``None`` detects the stage; ``True``/``False`` asserts stage 2/1 and fails if the
            checkpoint says otherwise.
    """
    state = ckpt.get("state_dict") if isinstance(ckpt, Mapping) else None
    if not isinstance(state, Mapping):
        raise UserError("not an MMEngine checkpoint (no state_dict)")
    meta = ckpt.get("meta") or {}
    detected = _resolve_stage(state, meta, two_dis)
    meta = dict(plain_python(meta), dwpose_transfer=dict(stage=detected))
    return {"meta": meta, "state_dict": convert_state_dict(state, detected)}, detected


def transfer_checkpoint(src: str, dst: str, two_dis: Optional[bool] = None,
                        trust: Optional[bool] = None, fmt: Optional[str] = None) -> str:
    """Read distiller checkpoint ``src``, write the plain checkpoint ``dst``; returns the stage.

    ``trust`` unpickles ``src`` without restriction (``None``: as
    :func:`dwpose.engine.checkpoint.trusting` says, off by default). ``fmt``: ``'pth'`` (``meta`` +
    ``state_dict``) or ``'safetensors'`` (the state dict, with metadata: input size and keypoint
    count read off the head, the stage, the source's sha256); ``None``: from ``dst``'s suffix.

    Returns:
        ``'stage1'`` or ``'stage2'``.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        UserError: unreadable, unsafe, truncated or non-distiller input, or a contradicting
            ``two_dis``.
    """
    from dwpose.engine.checkpoint import atomic_save, read_checkpoint, select_state_dict

    if os.path.abspath(src) == os.path.abspath(dst):
        raise UserError("output path equals the input path; write the plain model elsewhere")
    ckpt = read_checkpoint(src, trust=trust)
    ckpt = {**ckpt, "state_dict": select_state_dict(ckpt, source=f"checkpoint {src}")}
    out, stage = convert_checkpoint(ckpt, two_dis)
    if (fmt or output_format(dst)) == "safetensors":
        from dwpose.engine import safetensors_io as st

        state = out["state_dict"]
        st.write_safetensors(state, dst, st.model_metadata(None, src, **st.simcc_shape(state), stage=stage))
    else:
        atomic_save(out, dst)
    return f"stage{stage}"


def output_format(dst: str) -> str:
    """``'safetensors'`` for a ``.safetensors`` destination, else ``'pth'``."""
    return "safetensors" if str(dst).lower().endswith(".safetensors") else "pth"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``pth_transfer.py DIS_CKPT OUT_CKPT [--two_dis] [--trust-checkpoint] [--format pth|safetensors]``;
    user mistakes exit 2."""
    parser = argparse.ArgumentParser(
        prog="pth_transfer.py",
        description="Convert a DWPose distiller checkpoint into a plain pose-model checkpoint.")
    parser.add_argument("dis_ckpt", help="checkpoint written while training a distiller")
    parser.add_argument("out_ckpt", help="where to write the plain pose-model checkpoint")
    parser.add_argument("--two_dis", action="store_true", default=None,
                        help="assert a second-stage checkpoint (default: detect the stage)")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="unpickle DIS_CKPT without restriction (it can run code: only for files "
                             "from a source you trust)")
    parser.add_argument("--format", choices=("pth", "safetensors"),
                        help="output format (default: from OUT_CKPT's suffix, .safetensors or else pth)")
    args = parser.parse_args(argv)
    from dwpose.cli import guarded

    def run() -> int:
        from dwpose.engine.checkpoint import trusting

        with trusting(args.trust_checkpoint, prog="pth_transfer.py"):
            stage = transfer_checkpoint(args.dis_ckpt, args.out_ckpt, args.two_dis, fmt=args.format)
        print(f"{args.dis_ckpt} ({stage} distiller) -> {args.out_ckpt}")
        return 0

    return guarded(run, prog="pth_transfer.py")
