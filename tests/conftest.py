"""Shared fixtures. Real data is read from ../shared and tests skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("DWPOSE_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip(f"real data folder {SHARED_DIR} is absent")
    return SHARED_DIR


@pytest.fixture(scope="session")
def coco_mini(shared_dir: Path) -> Path:
    """``../shared/data/coco-wholebody-mini``: 4 COCO photos, 14 people, COCO-WholeBody annotations."""
    d = shared_dir / "data" / "coco-wholebody-mini"
    if not (d / "coco_wholebody_mini.json").is_file():
        pytest.skip(f"{d} is absent")
    return d


@pytest.fixture(scope="session")
def weights_dir(shared_dir: Path) -> Path:
    """``../shared/weights``: real ONNX person detectors."""
    d = shared_dir / "weights"
    if not d.is_dir():
        pytest.skip(f"{d} is absent")
    return d


@pytest.fixture(scope="session")
def photos(coco_mini: Path) -> list:
    """The four real COCO photos of coco-wholebody-mini."""
    return sorted((coco_mini / "images").glob("*.jpg"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """Random-init RTMPose-t: ``config``, ``checkpoint``, ``onnx`` (exported by dwpose.export).

    Made once per session and shared by tests/inference and tests/export.
    """
    pytest.importorskip("mmpose")
    from tests.inference.fakes import tiny_rtmpose

    return tiny_rtmpose(Path(tmp_path_factory.getbasetemp()) / "tiny_rtmpose")


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """A small synthetic COCO-WholeBody data set (the demo's generator), made once per session."""
    from dwpose.datasets.synthetic import generate_demo_dataset

    root = tmp_path_factory.mktemp("demo_data")
    generate_demo_dataset(root, num_train=16, num_val=8, seed=0)
    return root


def demo_cfg_options(data_root: Path, work_dir: Path | None = None, **extra) -> list[str]:
    """``--cfg-options`` that point a demo config at ``data_root`` and keep a run tiny."""
    opts = [f"data_root={data_root}/", "train_dataloader.num_workers=0",
            "train_dataloader.persistent_workers=False", "val_dataloader.num_workers=0",
            "val_dataloader.persistent_workers=False", "test_dataloader.num_workers=0",
            "test_dataloader.persistent_workers=False"]
    opts += [f"{k}={v}" for k, v in extra.items()]
    return opts
