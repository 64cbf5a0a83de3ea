"""The pose models ``dwpose app`` offers in its picker, loaded when picked and kept loaded.

A model is an ONNX file (the DWPose / RTMPose I/O) or an mmpose config + checkpoint, exactly what
``dwpose predict --pose`` takes. :func:`find_models` lists those in a folder and its direct sub-folders
(a training work dir holds one config and its checkpoints); :class:`ModelCatalog` loads them on demand
through ``dwpose predict``'s own loaders and pairs each with the one shared person detector.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from dwpose.errors import UserError
from dwpose.inference.detectors import load_detector
from dwpose.inference.pipeline import TopDownPipeline
from dwpose.inference.pose_models import load_pose_model
from dwpose.inference.runtime import describe_backend


@dataclass(frozen=True)
class ModelEntry:
    """One choice of the picker: ``label`` (shown) and ``spec``, the ``--pose`` arguments it stands for."""

    label: str
    spec: Tuple[str, ...]


def entry_for(spec: Sequence[str], root: Optional[Path] = None) -> ModelEntry:
    """A :class:`ModelEntry` for ``--pose`` arguments; labelled by path relative to ``root`` if inside it."""
    paths = [Path(p) for p in spec]

    def name(p: Path) -> str:
        if root is not None:
            try:
                return p.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                pass
        return p.name

    label = name(paths[0]) if len(paths) == 1 else f"{name(paths[1])} ({paths[0].name})"
    return ModelEntry(label, tuple(str(p) for p in paths))


def _folder_models(folder: Path, root: Path, exclude: set) -> List[ModelEntry]:
    entries = [
        entry_for([p], root)
        for p in sorted(folder.glob("*.onnx"))
        if p.is_file() and p.resolve() not in exclude
    ]
    configs = sorted(p for p in folder.glob("*.py") if p.is_file())
    checkpoints = [p for suffix in ("*.pth", "*.safetensors") for p in folder.glob(suffix)]
    for ckpt in sorted(checkpoints):
        same_stem = ckpt.with_suffix(".py")
        config = same_stem if same_stem.is_file() else (configs[0] if len(configs) == 1 else None)
        if config is not None and ckpt.is_file() and ckpt.resolve() not in exclude:
            entries.append(entry_for([config, ckpt], root))
    return entries


def find_models(folder: Path, exclude: Sequence[Path] = ()) -> List[ModelEntry]:
    """Pose models in ``folder`` and its direct sub-folders, sorted by label.

    ``*.onnx`` files are taken as pose models (one that is not says so when picked); a ``*.pth`` or
    ``*.safetensors`` checkpoint is paired with the ``*.py`` config of the same stem, else with the
    only ``*.py`` of its folder (an MMEngine work dir), else left out. Files in ``exclude`` (the
    person detector) are left out.

    Raises:
        NotADirectoryError / FileNotFoundError: ``folder`` is a file / missing.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"--models {folder} is a file; give the folder that holds the models")
    if not folder.is_dir():
        raise FileNotFoundError(f"--models folder {folder} does not exist")
    skip = {Path(p).resolve() for p in exclude}
    entries = _folder_models(folder, folder, skip)
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        entries += _folder_models(sub, folder, skip)
    return sorted(entries, key=lambda e: e.label)


PoseLoader = Callable[[Sequence[str], str], object]


class ModelCatalog:
    """The picker's models and the shared detector; pipelines are built on first use and cached.

    Thread-safe: Gradio runs handlers in worker threads. At most ``keep`` pose models stay loaded
    (least recently used goes first).

    Example:
        >>> catalog = ModelCatalog([entry_for(["pose.onnx"])], ["det.onnx"], device="cpu")
        >>> pipeline = catalog.pipeline("pose.onnx")      # a TopDownPipeline, as dwpose predict builds
        >>> catalog.describe("pose.onnx")                 # "pose.onnx on cpu: pose model onnxruntime ..."
    """

    def __init__(
        self,
        entries: Sequence[ModelEntry],
        detector_spec: Sequence[str],
        device: str = "cpu",
        det_threshold: float = 0.3,
        keep: int = 2,
        pose_loader: PoseLoader = load_pose_model,
    ) -> None:
        if not entries:
            raise UserError("no pose models to offer: give --pose MODEL, or --models DIR with models in it")
        labels = [e.label for e in entries]
        if len(set(labels)) != len(labels):
            raise UserError(f"two models share a label: {labels}")
        self.entries: Dict[str, ModelEntry] = {e.label: e for e in entries}
        self.device = device
        self.detector = load_detector(list(detector_spec), device, det_threshold)
        self._pose_loader = pose_loader
        self._keep = max(1, keep)
        self._loaded: OrderedDict[str, TopDownPipeline] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def labels(self) -> List[str]:
        return list(self.entries)

    def pipeline(self, label: str) -> TopDownPipeline:
        """The pipeline of model ``label`` (loaded now if needed).

        Raises:
            UserError: unknown label, or the model does not load (the message says why).
            FileNotFoundError: its file went away.
        """
        if label not in self.entries:
            raise UserError(f"unknown model {label!r}; choose one of: {', '.join(self.entries)}")
        with self._lock:
            if label in self._loaded:
                self._loaded.move_to_end(label)
                return self._loaded[label]
            pose_model = self._pose_loader(self.entries[label].spec, self.device)
            pipeline = TopDownPipeline(pose_model, self.detector)
            self._loaded[label] = pipeline
            while len(self._loaded) > self._keep:
                self._loaded.popitem(last=False)
            return pipeline

    def describe(self, label: str) -> str:
        """``"<label> on <device>: pose model <backend>, detector <backend>"`` for a loaded model."""
        pipeline = self.pipeline(label)
        return (
            f"{label} on {self.device}: pose model {describe_backend(pipeline.pose_model)}, "
            f"detector {describe_backend(self.detector)}"
        )
