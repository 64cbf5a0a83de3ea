"""The package stands on its own: a wheel carries every config, and an installed package runs its
commands from any directory with the configs it carries (no module looks for the checkout).

The install test builds the wheel offline (``--no-build-isolation --no-index``) and installs it into a
fresh venv that sees this interpreter's packages (torch, mmpose, ...) through a ``.pth`` line but
imports ``dwpose`` from its own site-packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


def _package_sources() -> list:
    """Every ``.py`` file of the package, without following the link to the configs."""
    found = []
    for folder, dirs, files in os.walk(REPO / "dwpose"):  # os.walk does not enter linked folders
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        found += [Path(folder) / f for f in files if f.endswith(".py")]
    return found


def test_no_package_module_locates_the_checkout():
    sources = _package_sources()
    assert len(sources) > 50 and REPO / "dwpose" / "demo.py" in sources
    offenders = [f"{p.relative_to(REPO)}:{i}" for p in sources
                 for i, line in enumerate(p.read_text().splitlines(), 1) if "parents[" in line]
    assert offenders == []


def test_package_configs_are_the_checkouts_own_files():
    """An editable install reads (and a study records) the checkout's configs under their real paths."""
    from dwpose.package_data import config_path, config_root
    from dwpose.study.config_set import load_config_set

    assert (REPO / "dwpose" / "configs").is_symlink()
    assert config_root() == CONFIGS
    assert config_path("demo/rtmpose-student_demo.py") == CONFIGS / "demo" / "rtmpose-student_demo.py"
    cs = load_config_set("demo")
    assert cs.teacher == CONFIGS / "demo" / "rtmpose-teacher_demo.py"
    assert cs.mmpose_s1 == CONFIGS / "demo" / "study" / "mmpose_dwpose_s1_demo.py"
    with pytest.raises(FileNotFoundError, match="carries no config 'demo/nope.py'"):
        config_path("demo/nope.py")


def test_study_step_lines_name_the_configs_as_before(tmp_path):
    """run.json's step lines: configs as ``configs/...``, work-dir paths relative to the work dir."""
    from dwpose.study.execute import describe
    from dwpose.study.plan import Evaluate, Train

    config = CONFIGS / "demo" / "rtmpose-teacher_demo.py"
    train = Train(config, tmp_path / "teacher" / "train", (f"model.x={tmp_path}/pretrain/final.pth",))
    assert describe(train, tmp_path) == ("`tools/train.py configs/demo/rtmpose-teacher_demo.py --work-dir "
                                         "teacher/train --cfg-options model.x=DIR/pretrain/final.pth` "
                                         "-> teacher/train/final.pth")
    test = Evaluate("teacher", config, train.output, tmp_path / "teacher")
    assert describe(test, tmp_path) == ("`tools/test.py configs/demo/rtmpose-teacher_demo.py "
                                        "teacher/train/final.pth` -> "
                                        "teacher/eval/teacher/teacher_wholebody_table.json")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of a copy of the sources, built offline (the checkout gets no build/ folder)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "dwpose", src / "dwpose", symlinks=True, ignore=skip)
    shutil.copytree(CONFIGS, src / "configs", ignore=skip)
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
           "-w", str(tmp / "dist"), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (built,) = (tmp / "dist").glob("dwpose-*.whl")
    return built


def test_wheel_carries_every_config_as_a_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = sorted(p.relative_to(CONFIGS).as_posix() for p in CONFIGS.rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    assert len(configs) > 50 and "demo/study/demo_set.yaml" in configs
    assert [c for c in configs if f"dwpose/configs/{c}" not in names] == []
    assert "dwpose/demo.py" in names and "dwpose/package_data.py" in names


def _venv(root: Path, wheel: Path) -> Path:
    """A venv holding the wheel's dwpose and seeing this interpreter's other packages; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # a plain path line: the parent's packages come after the venv's own, its .pth hooks stay off
    (Path(purelib) / "parent_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # --ignore-installed: the parent's dwpose (visible through the line above) is never uninstalled
    cmd = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed",
           "--disable-pip-version-check", str(wheel)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return python


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _run(cmd: list, cwd: Path, env: dict) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_installed_package_runs_from_any_directory_with_its_own_configs(wheel, tmp_path):
    python = _venv(tmp_path / "venv", wheel)
    site = Path(_run([python, "-c", "import dwpose, pathlib; print(pathlib.Path(dwpose.__file__).parent)"],
                     tmp_path, _env()).strip())
    assert site.is_relative_to(tmp_path / "venv") and not (site / "configs").is_symlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dwpose = tmp_path / "venv" / "bin" / "dwpose"  # the console script the wheel installs

    assert "--work-dir" in _run([dwpose, "demo", "--help"], elsewhere, _env())
    out = _run([dwpose, "demo-data", "data", "--num-train", "4", "--num-val", "2"], elsewhere, _env())
    assert "written" in out
    for split, count in (("train", 4), ("val", 2)):
        assert (elsewhere / "data" / "annotations" / f"demo_wholebody_{split}.json").is_file()
        assert len(list((elsewhere / "data" / "images" / split).glob("*.jpg"))) == count

    # the configs read are the installed copies, and _base_ / {{fileDirname}} resolve among them
    probe = ("from dwpose.package_data import config_path; from dwpose.study.config_set import "
             "load_config_set; from dwpose.engine.config import read_config; "
             "print(config_path('demo/rtmpose-student_demo.py')); print(load_config_set('demo').teacher); "
             "cfg = read_config(config_path('demo/dwpose_s1_demo.py')); print(cfg.model.student_cfg); "
             "print(cfg.train_dataloader.dataset.data_root)")
    lines = _run([python, "-c", probe], elsewhere, _env()).splitlines()[-4:]
    assert lines[:3] == [str(site / "configs/demo/rtmpose-student_demo.py"),
                         str(site / "configs/demo/rtmpose-teacher_demo.py"),
                         str(site / "configs/demo/rtmpose-student_demo.py")]
    assert lines[3]  # inherited from configs/_base_/ through configs/demo/rtmpose-student_demo.py

    # a study's recorded step lines are the same strings installed or from the checkout
    study = [dwpose, "study", "demo", "--work-dir", tmp_path / "study", "--seed-list", "0", "--dry-run"]
    installed = _run(study, elsewhere, _env())
    checkout = _run([sys.executable, "-m", "dwpose.cli", *study[1:]], REPO,
                    {**_env(), "PYTHONPATH": str(REPO)})
    assert installed == checkout
    assert ("`tools/train.py configs/demo/rtmpose-teacher_body-pretrain_demo.py --work-dir pretrain/teacher "
            "--cfg-options train_cfg.max_epochs=25` -> pretrain/teacher/final.pth") in installed
