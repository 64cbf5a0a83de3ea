"""Shared fixtures. Real data is read from ../shared (or ``DWPOSE_SHARED_DIR``).

Where it is absent or unreadable, its tests skip with the reason; under ``CI=true`` (CI must test
everything) they fail instead, so a CI job without the data cannot pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("DWPOSE_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def in_ci() -> bool:
    """True under ``CI=true`` (GitHub Actions, GitLab CI and most others set it; ``1`` / ``yes`` too)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_shared(path: Path, what: str, kind: str = "dir") -> Path:
    """``path`` if it is a readable folder (``kind="dir"``) or file; otherwise skip with the reason, or
    fail under ``CI=true``."""
    present = path.is_dir() if kind == "dir" else path.is_file()
    mode = os.R_OK | (os.X_OK if kind == "dir" else 0)
    problem = None if present and os.access(path, mode) else ("unreadable" if present else "absent")
    if problem is None:
        return path
    reason = f"{what} {path} is {problem}"
    if in_ci():
        pytest.fail(
            f"{reason}; CI=true needs the real data (DWPOSE_SHARED_DIR names the folder)", pytrace=False
        )
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require_shared(SHARED_DIR, "real data folder")


@pytest.fixture(scope="session")
def coco_mini(shared_dir: Path) -> Path:
    """``../shared/data/coco-wholebody-mini``: 4 COCO photos, 14 people, COCO-WholeBody annotations."""
    d = shared_dir / "data" / "coco-wholebody-mini"
    require_shared(d / "coco_wholebody_mini.json", "COCO-WholeBody mini annotations", kind="file")
    return require_shared(d / "images", "COCO-WholeBody mini images").parent


@pytest.fixture(scope="session")
def weights_dir(shared_dir: Path) -> Path:
    """``../shared/weights``: real ONNX person detectors."""
    return require_shared(shared_dir / "weights", "real weights folder")


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
    opts = [
        f"data_root={data_root}/",
        "train_dataloader.num_workers=0",
        "train_dataloader.persistent_workers=False",
        "val_dataloader.num_workers=0",
        "val_dataloader.persistent_workers=False",
        "test_dataloader.num_workers=0",
        "test_dataloader.persistent_workers=False",
    ]
    opts += [f"{k}={v}" for k, v in extra.items()]
    return opts
