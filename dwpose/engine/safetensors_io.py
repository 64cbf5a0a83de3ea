"""safetensors checkpoints: told apart by their header, read and written without pickle.

A ``.safetensors`` file is an 8-byte little-endian header length, a JSON header (tensor names,
dtypes, shapes, byte offsets and an optional ``__metadata__`` of strings) and the raw tensor bytes;
reading one builds tensors and nothing else, so no code in the file can run.
:func:`dwpose.engine.checkpoint.read_checkpoint` asks :func:`sniff` what a file is before it
unpickles anything: a safetensors file is read here (as ``{"state_dict": ..., "meta": ...}``), and a
file *named* ``.safetensors`` that is not one (a renamed pickle, say) is refused unread.

MMEngine's own loads (``load_from``, ``init_cfg=dict(type='Pretrained')``) go through its
``CheckpointLoader``; :func:`register_mmengine_loader` (run when ``dwpose.plugin`` is imported) puts
a local-file loader in front of MMEngine's that reads safetensors files here and passes everything
else on unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import torch

from dwpose.errors import UserError, first_line
from dwpose.fileio import atomic_open

SUFFIX = ".safetensors"
_MAX_HEADER = 100 * 2**20  # the format's own limit on the JSON header


def sniff(path: str | os.PathLike) -> str:
    """``'safetensors'``, ``'zip'`` (torch's default format), ``'pickle'`` (torch's legacy format)
    or ``'unknown'``, from the file's first bytes (its name plays no part)."""
    with open(path, "rb") as f:
        head = f.read(9)
        size = os.fstat(f.fileno()).st_size
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:1] == b"\x80":
        return "pickle"
    if len(head) == 9:
        (n,) = struct.unpack("<Q", head[:8])
        if 2 <= n <= min(_MAX_HEADER, size - 8) and head[8:9] == b"{":
            return "safetensors"
    return "unknown"


def check_named_format(path: Path, kind: str) -> None:
    """Refuse a file named ``.safetensors`` whose bytes are something else, before it is unpickled."""
    if path.suffix.lower() == SUFFIX and kind != "safetensors":
        what = {"zip": "a torch (zip) checkpoint", "pickle": "a pickled torch checkpoint"}.get(
            kind, "not a safetensors file")
        raise UserError(f"cannot read checkpoint {path}: it is named {SUFFIX} but holds {what}; it was "
                        "not unpickled (a safetensors file starts with its header length and a JSON "
                        "header); rename it to .pth only if you trust where it came from")


def read_safetensors(path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """``{"state_dict": {name: tensor}, "meta": {"safetensors": {metadata}}}`` of a safetensors file.

    Raises:
        UserError: a damaged or truncated file (one line naming it).
    """
    from safetensors import safe_open

    device = str(map_location) if isinstance(map_location, (str, torch.device)) else "cpu"
    try:
        with safe_open(str(path), framework="pt", device=device) as f:
            state = {name: f.get_tensor(name) for name in f.keys()}
            metadata = dict(f.metadata() or {})
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise UserError(f"cannot read checkpoint {path} (damaged safetensors file): "
                        f"{first_line(exc)}") from exc
    return {"state_dict": state, "meta": {"safetensors": metadata}}


def write_safetensors(state: Mapping[str, torch.Tensor], path: str | os.PathLike,
                      metadata: Optional[Mapping[str, Any]] = None) -> Path:
    """Write ``state`` (a flat state dict) to ``path`` atomically; ``metadata`` values become strings.

    Tensors that share storage (tied weights) are written as copies; non-tensor values are refused.
    """
    from safetensors.torch import save

    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        kind = type(state[bad[0]]).__name__
        raise UserError(f"a safetensors file holds tensors only; {bad[0]!r} is a {kind}")
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    meta = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    data = save(tensors, metadata=meta)
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (the source checksum in the metadata)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_metadata(config: str | os.PathLike | None, source: str | os.PathLike | None, *,
                   input_size: Optional[tuple] = None, num_keypoints: Optional[int] = None,
                   **extra: Any) -> Dict[str, str]:
    """The metadata a pose checkpoint carries: config name, input size ``WxH``, keypoint count,
    the source file's name and sha256, and ``extra`` (e.g. ``stage``)."""
    meta: Dict[str, str] = {"format": "mmpose state dict"}
    if config is not None:
        meta["config"] = Path(config).name
    if input_size is not None:
        meta["input_size"] = f"{int(input_size[0])}x{int(input_size[1])}"
    if num_keypoints is not None:
        meta["num_keypoints"] = str(int(num_keypoints))
    if source is not None:
        meta["source"] = Path(source).name
        meta["source_sha256"] = sha256_of(source)
    meta.update({k: str(v) for k, v in extra.items()})
    return meta


def simcc_shape(state: Mapping[str, torch.Tensor], split_ratio: float = 2.0) -> Dict[str, Any]:
    """Input size and keypoint count read off an RTMPose state dict's head (``{}`` if it has none)."""
    try:
        k = int(state["head.final_layer.weight"].shape[0])
        w = int(state["head.cls_x.weight"].shape[0] / split_ratio)
        h = int(state["head.cls_y.weight"].shape[0] / split_ratio)
    except KeyError:
        return {}
    return dict(input_size=(w, h), num_keypoints=k)


def _mmengine_local_loader(fallback):
    def load(filename: str, map_location: Any = None) -> Any:
        if os.path.isfile(filename):
            kind = sniff(filename)
            if kind == "safetensors":
                return read_safetensors(filename, map_location or "cpu")
            check_named_format(Path(filename), kind)
        return fallback(filename, map_location)
    load.dwpose_safetensors = True
    return load


def register_mmengine_loader() -> None:
    """Make MMEngine's local-file checkpoint loader read safetensors files (idempotent)."""
    from mmengine.runner.checkpoint import CheckpointLoader

    current = CheckpointLoader._schemes.get("")
    if current is None or getattr(current, "dwpose_safetensors", False):
        return
    CheckpointLoader.register_scheme(prefixes="", loader=_mmengine_local_loader(current), force=True)
