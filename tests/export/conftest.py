"""Fixtures of the export tests (the random RTMPose-t is shared with tests/inference through basetemp)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.inference.fakes import tiny_rtmpose


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> SimpleNamespace:
    """Random-init RTMPose-t: ``config``, ``checkpoint``, ``onnx`` (exported by dwpose.export)."""
    pytest.importorskip("mmpose")
    return tiny_rtmpose(Path(tmp_path_factory.getbasetemp()) / "tiny_rtmpose")


@pytest.fixture(scope="session")
def photos(coco_mini) -> list:
    """The four real COCO photos of coco-wholebody-mini."""
    return sorted((coco_mini / "images").glob("*.jpg"))
