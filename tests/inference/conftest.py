"""Fixtures of the inference tests: hand-made SimCC ONNX models (tiny_model, photos: tests/conftest.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.inference.fakes import simcc_onnx


@pytest.fixture(scope="session")
def peaks_onnx(tmp_path_factory) -> SimpleNamespace:
    """ONNX pose model (dynamic batch) with known SimCC peaks: ``path`` and ``peaks`` ``(133, 2)`` bins."""
    path = tmp_path_factory.mktemp("peaks") / "peaks.onnx"
    return SimpleNamespace(path=path, peaks=simcc_onnx(path))
