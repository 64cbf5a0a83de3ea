"""What a study trains on: the configs of teacher, student, both stages, and the data.

A CONFIG_SET is ``demo`` (``configs/demo/study/demo_set.yaml``, shipped in the package: the
``make demo`` configs on the generated data set), ``demo_scratch`` (the same from scratch) or a
``.yaml`` / ``.json`` / ``.py`` file with these keys (a ``.py`` file sets them as module-level names)::

    name: my_study                  # shown in study.md (default: the file's stem)
    teacher: path/teacher.py        # plain pose configs; relative paths are relative to this file
    student: path/student.py
    s1: path/stage1.py              # TwoStageDistiller, stage=1 (teacher -> student)
    s2: path/stage2.py              # TwoStageDistiller, stage=2 (student -> student)
    mmpose_s1: path/mmpose_s1.py    # optional pair: the same recipe with mmpose's DWPoseDistiller
    mmpose_s2: path/mmpose_s2.py    #   (without them the mmpose variants cannot be run)
    student_pretrain: path/sp.py    # optional pair: body pre-training of the student's and the
    teacher_pretrain: path/tp.py    #   teacher's backbones, loaded by every whole-body run
    data_root: /data/coco/          # optional: passed as data_root=... to every train / test run
    demo_data: {num_train: 320, num_val: 64, seed: 0}   # or: generate the demo data into WORK/data
    cfg_options: [train_dataloader.num_workers=2]       # optional, added to every train / test run
    teacher_seed: 21                # the one teacher's training seed (shared by every variant)

Example:
    >>> cs = load_config_set("demo")
    >>> cs.s1.name, cs.teacher_seed
    ('dwpose_s1_demo.py', 21)
"""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from dwpose.errors import UserError

# the built-in sets, in the package's configs (dwpose.package_data: a checkout's configs/ itself for an
# editable install, so a study records the same absolute config paths as when run from the checkout)
BUILTIN = {"demo": "demo/study/demo_set.yaml", "demo_scratch": "demo/study/demo_scratch_set.yaml"}
CONFIG_KEYS = ("teacher", "student", "s1", "s2", "mmpose_s1", "mmpose_s2", "student_pretrain",
               "teacher_pretrain")
PRETRAIN_KEYS = ("student_pretrain", "teacher_pretrain")
REQUIRED = ("teacher", "student", "s1", "s2")
OTHER_KEYS = ("name", "data_root", "demo_data", "cfg_options", "teacher_seed")
DEMO_DATA_KEYS = ("num_train", "num_val", "seed", "image_size")


@dataclass(frozen=True)
class ConfigSet:
    """The configs and data of one study (paths absolute)."""

    name: str
    teacher: Path
    student: Path
    s1: Path
    s2: Path
    mmpose_s1: Optional[Path] = None
    mmpose_s2: Optional[Path] = None
    student_pretrain: Optional[Path] = None
    teacher_pretrain: Optional[Path] = None
    data_root: Optional[str] = None
    demo_data: Optional[Dict[str, Any]] = None
    cfg_options: Tuple[str, ...] = ()
    teacher_seed: int = 21
    source: Optional[Path] = field(default=None, compare=False)

    @property
    def has_pretrain(self) -> bool:
        return self.student_pretrain is not None

    @property
    def has_mmpose(self) -> bool:
        return self.mmpose_s1 is not None and self.mmpose_s2 is not None

    def to_json(self) -> Dict[str, Any]:
        """Plain values (paths as strings), as study.json records them."""
        out: Dict[str, Any] = {"name": self.name, "source": str(self.source) if self.source else None}
        out.update({k: str(getattr(self, k)) if getattr(self, k) else None for k in CONFIG_KEYS
                    if getattr(self, k) or k not in PRETRAIN_KEYS})  # a set without them reads as before
        out.update(data_root=self.data_root, demo_data=self.demo_data, cfg_options=list(self.cfg_options),
                   teacher_seed=self.teacher_seed)
        return out


def _read_file(path: Path) -> Dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(path.read_text())
    elif suffix == ".json":
        data = json.loads(path.read_text())
    elif suffix == ".py":
        names = runpy.run_path(str(path))
        data = {k: v for k, v in names.items() if k in CONFIG_KEYS + OTHER_KEYS}
    else:
        raise UserError(f"config set {path}: use a .yaml, .json or .py file "
                         f"(or a built-in name: {', '.join(BUILTIN)})")
    if not isinstance(data, dict):
        raise UserError(f"config set {path} must hold a mapping of keys, got {type(data).__name__}")
    return data


def _config_path(value: Any, key: str, base: Path) -> Path:
    path = Path(str(value)).expanduser()
    path = path if path.is_absolute() else (base / path)
    if not path.is_file():
        raise FileNotFoundError(f"config set: {key} config {path} does not exist")
    return path.resolve()


def config_set_from_dict(data: Dict[str, Any], base: Path, default_name: str = "study",
                         source: Optional[Path] = None) -> ConfigSet:
    """Validate ``data`` (the keys above) into a :class:`ConfigSet`; paths relative to ``base``.

    Raises:
        ValueError: unknown or missing keys, bad ``demo_data``, both ``data_root`` and ``demo_data``.
        FileNotFoundError: a named config does not exist.
    """
    unknown = sorted(set(data) - set(CONFIG_KEYS + OTHER_KEYS))
    if unknown:
        raise UserError(f"config set: unknown keys {unknown}; known: {list(CONFIG_KEYS + OTHER_KEYS)}")
    missing = [k for k in REQUIRED if not data.get(k)]
    if missing:
        raise UserError(f"config set: missing {missing} (teacher, student, s1 and s2 configs are required)")
    if bool(data.get("mmpose_s1")) != bool(data.get("mmpose_s2")):
        raise UserError("config set: give both mmpose_s1 and mmpose_s2, or neither")
    if bool(data.get("student_pretrain")) != bool(data.get("teacher_pretrain")):
        raise UserError("config set: give both student_pretrain and teacher_pretrain, or neither")
    demo_data = data.get("demo_data")
    if demo_data is not None:
        if not isinstance(demo_data, dict) or set(demo_data) - set(DEMO_DATA_KEYS):
            raise UserError(f"config set: demo_data must be a mapping with keys from {DEMO_DATA_KEYS}")
        if data.get("data_root"):
            raise UserError("config set: give data_root (existing data) or demo_data (generated), not both")
    options = data.get("cfg_options") or []
    if isinstance(options, str) or not all(isinstance(o, str) and "=" in o for o in options):
        raise UserError("config set: cfg_options must be a list of 'key=value' strings")
    paths = {k: _config_path(data[k], k, base) for k in CONFIG_KEYS if data.get(k)}
    return ConfigSet(name=str(data.get("name") or default_name), **paths,
                     data_root=str(data["data_root"]) if data.get("data_root") else None,
                     demo_data=dict(demo_data) if demo_data is not None else None,
                     cfg_options=tuple(options), teacher_seed=int(data.get("teacher_seed", 21)),
                     source=source)


def load_config_set(spec: str) -> ConfigSet:
    """The built-in set named ``spec`` (``demo``) or the set described by the file ``spec``.

    Raises:
        FileNotFoundError: neither a built-in name nor an existing file.
        ValueError: the file is malformed (see :func:`config_set_from_dict`).
    """
    if spec in BUILTIN:
        from dwpose.package_data import config_path

        path = config_path(BUILTIN[spec])
    else:
        path = Path(spec).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"config set {spec!r} is neither a built-in set ({', '.join(BUILTIN)}) "
                                f"nor an existing file")
    path = path.resolve()
    return config_set_from_dict(_read_file(path), path.parent, default_name=path.stem, source=path)
