"""Fixtures for the scoring tests: the real COCO-WholeBody mini set (skips when ../shared is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mini_gt_path(coco_mini: Path) -> Path:
    return coco_mini / "coco_wholebody_mini.json"


@pytest.fixture(scope="session")
def mini_gt(mini_gt_path: Path) -> dict:
    return json.loads(mini_gt_path.read_text())
