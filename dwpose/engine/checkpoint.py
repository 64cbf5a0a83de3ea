"""The project's one checkpoint module: read safely, normalise, load strictly, save atomically.

Every entry point that reads a checkpoint comes here: ``tools/train.py --resume``, ``tools/test.py``,
the distiller's teacher, ``pth_transfer.py``, ``dwpose predict`` (PyTorch models), ``dwpose export``
and the Cog predictor. One set of rules:

- **Reading** (:func:`read_checkpoint`) runs torch's weights-only unpickler, which builds tensors and
  plain Python values and nothing else, plus an allow-list for what MMEngine and mmpose checkpoints
  really hold: numpy arrays, scalars and dtypes (numpy 1 ``numpy.core`` and numpy 2 ``numpy._core``
  names), MMEngine's ``HistoryBuffer`` (the message hub's logs; its pickle fetches the class's
  statistics methods with ``getattr``, answered here for that class's own public methods alone) and
  ``Config`` / ``ConfigDict``, each rebuilt as inert data by a stand-in that never calls a
  constructor able to open a file (:mod:`dwpose.engine.safe_globals` says why each entry is
  inert). Anything else (a pickle that would call ``os.system``, or ``Config`` with a file name) is
  refused with one line naming what it found. ``--trust-checkpoint`` (:func:`trusting`) lifts
  the restriction for one command, with a warning.
- **Normalising** (:func:`select_state_dict`): the weights of a full MMEngine checkpoint or of a bare
  state dict, DDP's ``module.`` prefix stripped, mmcv-1.x ``ema_*`` averaged copies used where
  present, and a distiller's ``student.`` / ``teacher.`` half picked when the caller asks.
- **Loading** (:func:`load_state_dict_strict`): keys and shapes must match the model exactly; the
  error names the first mismatched layer with both shapes, then counts the rest.
- **Saving** (:func:`atomic_save`): a temporary file renamed into place.

MMEngine's own loader (resume, ``load_from``, ``Pretrained`` init) calls torch with weights-only
loading too; ``tools/train.py`` and ``tools/test.py`` run inside :func:`safe_loading`, so the same
allow-list serves it.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from dwpose.engine import safetensors_io
from dwpose.engine.safe_globals import MMENGINE_GLOBALS, NUMPY_GLOBALS
from dwpose.errors import UserError, first_line
from dwpose.fileio import atomic_open, require_file

TRUST_HINT = "if you trust where the file came from, rerun with --trust-checkpoint"


# numpy is allowed process-wide (DWPoseRunner checkpoints hold numpy values, and every weights-only
# load in this process may rebuild them); the MMEngine stand-ins only inside safe_loading().
torch.serialization.add_safe_globals(NUMPY_GLOBALS)
_safe_depth = 0
_safe_context: Any = None
_trusted = False
_FORCE_UNSAFE_ENV = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"  # torch's switch for loads that do not say


@contextlib.contextmanager
def safe_loading() -> Iterator[None]:
    """Inside, every weights-only load of this process (MMEngine's too) accepts the allow-list.

    Re-entrant: torch's own ``safe_globals`` context would drop the globals when an inner one exits.
    """
    global _safe_depth, _safe_context
    if _safe_depth == 0:
        _safe_context = torch.serialization.safe_globals(MMENGINE_GLOBALS)
        _safe_context.__enter__()
    _safe_depth += 1
    try:
        yield
    finally:
        _safe_depth -= 1
        if _safe_depth == 0:
            _safe_context.__exit__(None, None, None)


@contextlib.contextmanager
def trusting(enabled: bool = True, prog: str = "dwpose") -> Iterator[None]:
    """``--trust-checkpoint``: inside, checkpoints are unpickled without restriction (one warning).

    Covers :func:`read_checkpoint` and MMEngine's own loads (through torch's
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``); both are restored on exit. ``enabled=False`` does nothing.
    """
    global _trusted
    if not enabled:
        yield
        return
    print(f"{prog}: warning: --trust-checkpoint: checkpoints are unpickled without restriction; "
          "a malicious file can run any code on this machine", file=sys.stderr)
    before = _trusted, os.environ.get(_FORCE_UNSAFE_ENV)
    _trusted = True
    os.environ[_FORCE_UNSAFE_ENV] = "1"
    try:
        yield
    finally:
        _trusted = before[0]
        if before[1] is None:
            os.environ.pop(_FORCE_UNSAFE_ENV, None)
        else:
            os.environ[_FORCE_UNSAFE_ENV] = before[1]


# first bytes of files people pass as a checkpoint by mistake -> what they are
_NOT_CHECKPOINTS = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
                    (b"\x80", "a plain pickle, not a torch checkpoint"), (b"\x08", "an ONNX model"))


def _what_it_is(path: Path) -> Optional[str]:
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80\x02\x8a\x0a"):
        return None  # a zip (torch's format) or torch's legacy format (a pickled magic number first)
    return next((name for magic, name in _NOT_CHECKPOINTS if head.startswith(magic)), None)


def _read_error(path: Path, exc: BaseException) -> str:
    """One line for a checkpoint torch could not load: the refused global, or the first line."""
    what = _what_it_is(path) if path.is_file() and stat.S_ISREG(path.stat().st_mode) else None
    if what:
        return (f"cannot read checkpoint {path}: the file is {what}; give a .pth written by torch.save / "
                f"MMEngine (or a .safetensors file)")
    text = str(exc)
    found = re.search(r"GLOBAL (\S+)", text)
    if found:
        return (f"cannot read checkpoint {path}: it pickles {found.group(1)}, which the safe loader "
                f"does not rebuild (tensors, plain values, numpy, MMEngine's HistoryBuffer and "
                f"Config only); {TRUST_HINT}")
    found = re.search(r"WeightsUnpickler error:\s*([^\n]+)", text)
    if found:
        return f"cannot read checkpoint {path}: {found.group(1).strip()}; {TRUST_HINT}"
    return f"cannot read checkpoint {path} (truncated or not a torch checkpoint): {first_line(exc)}"


def read_checkpoint(path: str | os.PathLike, *, trust: Optional[bool] = None,
                    map_location: Any = "cpu") -> dict:
    """Load a checkpoint file (a full MMEngine checkpoint, a bare state dict, or safetensors) safely.

    A safetensors file (told by its header, not its name) is read without pickle
    (:mod:`dwpose.engine.safetensors_io`); a file named ``.safetensors`` that is not one is refused
    before anything is unpickled.

    Args:
        path: the ``.pth`` / ``.safetensors`` file.
        trust: unpickle without restriction; ``None`` follows :func:`trusting` (off by default).
        map_location: where tensors go, as for torch.

    Raises:
        FileNotFoundError / IsADirectoryError: ``path`` is missing / a folder.
        UserError: truncated, not a torch checkpoint, or pickling a global outside the allow-list
            (the message names it and points at ``--trust-checkpoint``).
    """
    path = require_file(path, "checkpoint")
    kind = safetensors_io.sniff(path)
    if kind == "safetensors":
        return safetensors_io.read_safetensors(path, map_location)
    safetensors_io.check_named_format(path, kind)
    unrestricted = _trusted if trust is None else trust
    try:
        with safe_loading():
            ckpt = torch.load(path, map_location=map_location, weights_only=not unrestricted)
    except Exception as exc:  # torch raises many types for corrupt / unsafe files
        raise UserError(_read_error(path, exc)) from exc
    if not isinstance(ckpt, dict):
        raise UserError(f"checkpoint {path} holds a {type(ckpt).__name__}, expected a dict")
    return ckpt


load_checkpoint_file = read_checkpoint  # the name engine code and tools have used


def _is_state_dict(obj: Mapping) -> bool:
    return bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def _use_ema_copies(state: Dict[str, Any], ema: bool) -> Dict[str, Any]:
    """mmcv 1.x's EMA hook keeps ``ema_<name with _ for .>`` copies beside the weights."""
    copies = {k for k in state if k.startswith("ema_") and "." not in k}
    if not copies:
        return state
    out = {}
    for key, value in state.items():
        if key not in copies:
            twin = "ema_" + key.replace(".", "_")
            out[key] = state[twin] if ema and twin in copies else value
    return out


def select_state_dict(ckpt: Mapping, *, prefix: Optional[str] = None, ema: bool = True,
                      source: str = "checkpoint") -> Dict[str, Any]:
    """The model weights of a loaded checkpoint, normalised.

    - ``ckpt['state_dict']`` of an MMEngine checkpoint, or ``ckpt`` itself when it is a bare state
      dict (every value a tensor). MMEngine's EMA hook already saves the averaged weights there.
    - DDP's ``module.`` prefix is stripped when every key has it.
    - ``ema``: where mmcv 1.x ``ema_*`` copies are present, use them (``False``: the raw weights).
    - ``prefix`` (``'student.'`` / ``'teacher.'``): keep only those keys, prefix removed.

    Raises:
        UserError: no state dict, or nothing under ``prefix``.

    Example:
        >>> w = torch.ones(1)
        >>> list(select_state_dict({'state_dict': {'module.student.a': w}}, prefix='student.'))
        ['a']
    """
    state = ckpt.get("state_dict")
    if not isinstance(state, Mapping):
        if not _is_state_dict(ckpt):
            keys = ", ".join(map(str, list(ckpt)[:4])) or "nothing"
            raise UserError(f"{source} holds no state_dict (it has {keys})")
        state = ckpt
    state = dict(state)
    if state and all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    state = _use_ema_copies(state, ema)
    if prefix:
        state = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise UserError(f"{source} has no {prefix}* weights")
    return state


def _sample(keys: List[str], n: int = 2) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def _shape(t: Any) -> tuple:
    return tuple(getattr(t, "shape", ()))


def check_fits(model: torch.nn.Module, state: Mapping[str, Any], *, source: str = "checkpoint",
               target: str = "the model") -> None:
    """Raise unless ``state`` has exactly ``model``'s keys and shapes (``num_batches_tracked`` may
    be missing; stray ``data_preprocessor.*`` keys are ignored).

    Raises:
        UserError: ``"{source} does not match {target}: layer 'L' has shape (a) in the checkpoint
            but (b) in the model; in all: keys 1 of another shape (...), 2 missing (...), ..."``, or
            a distillation checkpoint that needs ``pth_transfer.py``.
    """
    own = model.state_dict()
    reshaped = [k for k in own if k in state and _shape(state[k]) != _shape(own[k])]
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own and not k.startswith("data_preprocessor.")]
    if not (reshaped or missing or unexpected):
        return
    if any(k.startswith(("student.", "teacher.")) for k in unexpected):
        raise UserError(f"{source} is a distillation checkpoint (student./teacher. keys): convert "
                        "it with pth_transfer.py first")
    if reshaped:
        k = reshaped[0]
        first = (f"layer '{k}' has shape {_shape(state[k])} in the checkpoint but {_shape(own[k])} "
                 "in the model")
    elif missing:
        first = f"layer '{missing[0]}' is missing from the checkpoint"
    else:
        first = f"layer '{unexpected[0]}' is in the checkpoint but not in the model"
    parts = []
    if reshaped:
        shown = [f"{k} {_shape(state[k])} vs {_shape(own[k])}" for k in reshaped[:2]]
        parts.append(f"keys {len(reshaped)} of another shape ({_sample(shown + reshaped[2:])})")
    parts += [f"{len(keys)} {what} ({_sample(keys)})"
              for keys, what in ((missing, "missing"), (unexpected, "unexpected")) if keys]
    raise UserError(f"{source} does not match {target}: {first}; in all: {', '.join(parts)}")


def load_state_dict_strict(model: torch.nn.Module, state: Mapping[str, Any], *,
                           source: str = "checkpoint", target: str = "the model") -> None:
    """:func:`check_fits`, then copy ``state`` into ``model`` (missing BN counters keep the model's)."""
    check_fits(model, state, source=source, target=target)
    own = model.state_dict()
    full = {k: state[k] if k in state else own[k] for k in own}
    model.load_state_dict(full, strict=True)


def load_weights(model: torch.nn.Module, path: str | os.PathLike, *, target: str = "the model",
                 prefix: Optional[str] = None, ema: bool = True,
                 trust: Optional[bool] = None) -> dict:
    """Read ``path``, normalise it (:func:`select_state_dict`) and load it strictly into ``model``.

    Returns:
        The checkpoint as read (``meta`` and the rest, for callers that want them).

    Raises:
        FileNotFoundError: no such file. UserError: unreadable, unsafe, or not fitting ``model``.
    """
    ckpt = read_checkpoint(path, trust=trust)
    source = f"checkpoint {path}"
    state = select_state_dict(ckpt, prefix=prefix, ema=ema, source=source)
    load_state_dict_strict(model, state, source=source, target=target)
    return ckpt


def check_resumable(ckpt: Mapping, path: str | os.PathLike) -> None:
    """Raise unless ``ckpt`` carries the training state ``--resume`` continues from."""
    meta = ckpt.get("meta")
    if not (isinstance(meta, Mapping) and "epoch" in meta and "iter" in meta
            and isinstance(ckpt.get("state_dict"), Mapping)):
        raise UserError(f"checkpoint {path} has weights but no training state (meta epoch/iter): "
                        "--resume continues a run from a checkpoint its runner wrote; to start "
                        f"from these weights use --cfg-options load_from={path}")


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` into a temporary file beside ``path``, then rename it into place (umask mode)."""
    with atomic_open(path, "wb") as f:
        torch.save(obj, f)


_CKPT_RE = re.compile(r"^(epoch|iter)_(\d+)\.pth$")


def _named_by_marker(work_dir: Path) -> Optional[Path]:
    """The checkpoint ``last_checkpoint`` names (in ``work_dir`` when the work dir has moved)."""
    marker = work_dir / "last_checkpoint"
    if not marker.is_file():
        return None
    named = Path(marker.read_text().strip())
    if not named.name:
        return None
    if named.is_absolute() and named.is_file():
        return named
    return work_dir / named.name


def find_resumable_checkpoint(work_dir: str | os.PathLike, *, allow_older: bool = False,
                              skipped: Optional[List[str]] = None) -> Optional[str]:
    """The newest checkpoint in ``work_dir`` that actually loads, or ``None``.

    The checkpoint ``last_checkpoint`` names comes first; then ``epoch_*.pth`` / ``iter_*.pth``,
    newest first. A candidate that does not load (truncated, refused, missing) is skipped, with one
    line saying which and why appended to ``skipped``.

    Args:
        allow_older: accept a rewind past an unreadable ``last_checkpoint`` checkpoint (to an older
            one, or to a fresh start); without it that is refused.

    Raises:
        UserError: ``last_checkpoint`` names a checkpoint that does not load and ``allow_older``
            is false (the message names the checkpoint, why, and what resuming would fall back to).
    """
    work_dir = Path(work_dir)
    named = _named_by_marker(work_dir)
    found = [(int(m.group(2)), p) for p in work_dir.glob("*.pth") if (m := _CKPT_RE.match(p.name))]
    candidates = ([named] if named else []) + [p for _, p in sorted(found, reverse=True) if p != named]
    refused: Optional[str] = None
    for cand in candidates:
        try:
            read_checkpoint(cand)
        except (OSError, UserError) as exc:  # missing, a folder, truncated, unsafe
            why = first_line(exc).replace(f"cannot read checkpoint {cand}: ", "").replace(
                f"cannot read checkpoint {cand} ", "")
            if cand == named:
                refused = f"last_checkpoint names {cand}, which does not load ({why})"
            if skipped is not None:
                skipped.append(f"skipped {cand}: {why}")
            continue
        if refused and not allow_older:
            raise UserError(f"{refused}; resuming would rewind to the older {cand}: rerun with "
                            "--resume-older to accept that, or name a checkpoint with --resume CKPT")
        return str(cand)
    if refused and not allow_older:
        raise UserError(f"{refused}, and no older checkpoint loads: rerun with --resume-older to "
                        "start fresh")
    return None


_BUFFER_TAG = "__history_buffer__"


def buffers_to_plain(log_scalars: dict) -> dict:
    """``{name: HistoryBuffer}`` -> ``{name: {tag, log, count, max_length}}`` (no allow-list needed)."""
    out = {}
    for name, buf in log_scalars.items():
        if isinstance(buf, HistoryBuffer):
            log, count = buf.data
            out[name] = {_BUFFER_TAG: True, "log": np.asarray(log), "count": np.asarray(count),
                         "max_length": int(buf.max_length)}
        else:
            out[name] = buf
    return out


def plain_to_buffers(log_scalars: dict) -> dict:
    """Inverse of :func:`buffers_to_plain`; real ``HistoryBuffer`` objects pass through."""
    out = {}
    for name, item in log_scalars.items():
        if isinstance(item, dict) and item.get(_BUFFER_TAG):
            out[name] = HistoryBuffer(list(item["log"]), list(item["count"]), item["max_length"])
        else:
            out[name] = item
    return out


def _register_hook() -> None:
    from mmengine.hooks import Hook
    from mmpose.registry import HOOKS

    @HOOKS.register_module()
    class WeightsOnlyCheckpointHook(Hook):
        """Keeps DWPoseRunner checkpoints loadable by torch's weights-only loader with no allow-list
        beyond numpy (message-hub buffers saved as plain dicts)."""

        priority = "LOWEST"  # after EMAHook and friends have filled the checkpoint

        def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
            hub = checkpoint.get("message_hub")
            if isinstance(hub, dict) and "log_scalars" in hub:
                hub["log_scalars"] = buffers_to_plain(hub["log_scalars"])

        def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
            hub = checkpoint.get("message_hub")
            if isinstance(hub, dict) and "log_scalars" in hub:
                hub["log_scalars"] = plain_to_buffers(hub["log_scalars"])


_register_hook()
