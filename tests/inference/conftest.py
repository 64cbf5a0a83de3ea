"""Fixtures of the inference tests: hand-made SimCC ONNX models, the random RTMPose-t, sample pictures."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.inference.fakes import simcc_onnx, tiny_rtmpose


@pytest.fixture(scope="session")
def peaks_onnx(tmp_path_factory) -> SimpleNamespace:
    """ONNX pose model (dynamic batch) with known SimCC peaks: ``path`` and ``peaks`` ``(133, 2)`` bins."""
    path = tmp_path_factory.mktemp("peaks") / "peaks.onnx"
    return SimpleNamespace(path=path, peaks=simcc_onnx(path))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> SimpleNamespace:
    """Random-init RTMPose-t: ``config``, ``checkpoint``, ``onnx`` (exported by dwpose.export)."""
    pytest.importorskip("mmpose")
    return tiny_rtmpose(Path(tmp_path_factory.getbasetemp()) / "tiny_rtmpose")


@pytest.fixture(scope="session")
def photos(coco_mini) -> list:
    """The four real COCO photos of coco-wholebody-mini."""
    return sorted((coco_mini / "images").glob("*.jpg"))
