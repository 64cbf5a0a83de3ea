"""The ../shared rule of tests/conftest.py: absent or unreadable real data skips, but fails under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
USES_REAL_DATA = "def test_uses_real_data(coco_mini, weights_dir):\n    assert coco_mini.is_dir()\n"


def _pytest(tmp_path: Path, shared: Path, ci: str | None) -> subprocess.CompletedProcess:
    """A one-test pytest run whose fixtures are tests/conftest.py's, with ``DWPOSE_SHARED_DIR=shared``."""
    (tmp_path / "test_probe.py").write_text(USES_REAL_DATA)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(DWPOSE_SHARED_DIR=str(shared), PYTHONPATH=str(REPO))
    if ci is not None:
        env["CI"] = ci
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "tests.conftest",
           "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")]  # fmt: skip
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def _fake_shared(root: Path) -> Path:
    mini = root / "data" / "coco-wholebody-mini"
    (mini / "images").mkdir(parents=True)
    (mini / "coco_wholebody_mini.json").write_text("{}")
    (root / "weights").mkdir()
    return root


def test_absent_shared_skips_with_the_reason_outside_ci(tmp_path):
    missing = tmp_path / "no-shared"
    for ci in (None, "false"):
        proc = _pytest(tmp_path, missing, ci)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "1 skipped" in proc.stdout and f"real data folder {missing} is absent" in proc.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_absent_shared_fails_under_ci(tmp_path, ci):
    missing = tmp_path / "no-shared"
    proc = _pytest(tmp_path, missing, ci)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 error" in proc.stdout and "skipped" not in proc.stdout
    assert f"real data folder {missing} is absent; CI=true needs the real data" in proc.stdout


def test_a_missing_part_of_shared_fails_under_ci(tmp_path):
    shared = _fake_shared(tmp_path / "shared")
    (shared / "weights").rmdir()
    proc = _pytest(tmp_path, shared, "true")
    assert proc.returncode == 1 and f"real weights folder {shared / 'weights'} is absent" in proc.stdout


def test_unreadable_shared_skips_outside_ci_and_fails_under_ci(tmp_path, monkeypatch):
    """In-process, with ``os.access`` saying no: the tests may run as root, who can read anything."""
    from tests.conftest import require_shared

    ann = _fake_shared(tmp_path / "shared") / "data" / "coco-wholebody-mini" / "coco_wholebody_mini.json"
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != ann)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"annotations {ann} is unreadable"):
        require_shared(ann, "annotations", kind="file")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=f"annotations {ann} is unreadable; CI=true needs"):
        require_shared(ann, "annotations", kind="file")
    assert require_shared(ann.parent, "mini folder") == ann.parent  # readable folders pass


def test_present_shared_passes_under_ci(tmp_path):
    proc = _pytest(tmp_path, _fake_shared(tmp_path / "shared"), "true")
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr
