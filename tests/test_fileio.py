"""dwpose/fileio.py: atomic writes with the umask's permissions, for every writer of the project."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from dwpose.fileio import atomic_open, atomic_path, atomic_write_bytes, current_umask, require_file

PEOPLE = (np.full((1, 133, 2), 5.0, np.float32), np.full((1, 133), 0.9, np.float32))


@pytest.fixture
def umask(request):
    """Run the test under ``request.param`` as the process umask (restored afterwards)."""
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def only_file(folder: Path) -> list:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], indirect=True)
def test_atomic_write_honours_the_umask(tmp_path, umask):
    assert current_umask() == umask
    target = atomic_write_bytes(tmp_path / "a" / "out.bin", b"data")
    assert target.read_bytes() == b"data"
    assert mode(target) == 0o666 & ~umask
    assert only_file(target.parent) == ["out.bin"]


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = atomic_write_bytes(tmp_path / "out.npz", b"old")

    def boom(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert only_file(tmp_path) == ["out.npz"]  # no temporary file left behind


def test_a_failing_writer_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="half"):
        with atomic_open(tmp_path / "x.json", "w") as f:
            f.write("{")
            raise RuntimeError("half written")
    assert only_file(tmp_path) == []


def test_atomic_path_keeps_the_extension_and_hides_the_temporary_file(tmp_path):
    with atomic_path(tmp_path / "clip.mp4", suffix=".mp4") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".clip.mp4.") and tmp.suffix == ".mp4"
        assert tmp.is_file() and not (tmp_path / "clip.mp4").exists()
        tmp.write_bytes(b"frames")
    assert only_file(tmp_path) == ["clip.mp4"]


def test_atomic_open_refuses_append_and_read_modes(tmp_path):
    with pytest.raises(ValueError, match="mode must be"):
        with atomic_open(tmp_path / "x", "a"):
            pass


def test_require_file_says_what_is_wrong(tmp_path):
    (tmp_path / "f.py").write_text("")
    assert require_file(tmp_path / "f.py", "config") == tmp_path / "f.py"
    with pytest.raises(IsADirectoryError, match=f"^config {tmp_path} is a folder, not a file$"):
        require_file(tmp_path, "config")
    with pytest.raises(FileNotFoundError, match="^checkpoint .*nope.pth does not exist$"):
        require_file(tmp_path / "nope.pth", "checkpoint")


# --- every writer of the project -------------------------------------------------------------------


def _npz(tmp_path, _):
    from dwpose.inference.writers import write_cog_npz

    return [write_cog_npz(tmp_path / "a.npz", *PEOPLE, (64, 48), 0.3)]


def _openpose_json(tmp_path, _):
    from dwpose.inference.writers import write_openpose_json

    return [write_openpose_json(tmp_path / "a.json", *PEOPLE)]


def _overlay(tmp_path, _):
    from dwpose.inference.writers import write_image

    return [write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))]


def _coco_json(tmp_path, _):
    from dwpose.fileio import atomic_write_json

    return [atomic_write_json(tmp_path / "results_coco_wholebody.json", [])]


def _video(tmp_path, _):
    from dwpose.fileio import AtomicVideoWriter

    writer = AtomicVideoWriter(tmp_path / "clip_pose.mp4", 10.0, (32, 32))
    for _ in range(3):
        writer.write(np.zeros((32, 32, 3), np.uint8))
    writer.close()
    return [tmp_path / "clip_pose.mp4"]


def _checkpoint(tmp_path, _):
    torch = pytest.importorskip("torch")
    from dwpose.engine.checkpoint import atomic_save

    atomic_save({"state_dict": {"w": torch.zeros(2)}}, tmp_path / "epoch_1.pth")
    return [tmp_path / "epoch_1.pth"]


def _runner_checkpoint(tmp_path, monkeypatch):
    """``DWPoseRunner.save_checkpoint`` around MMEngine's (stubbed: it writes the file it is given)."""
    pytest.importorskip("mmengine")
    from mmengine.runner import Runner

    from dwpose.engine.runner import DWPoseRunner

    def mmengine_save(self, out_dir, filename, *args, **kwargs):
        with open(os.path.join(out_dir, filename), "wb") as f:  # as MMEngine's LocalBackend.put
            f.write(b"checkpoint")

    monkeypatch.setattr(Runner, "save_checkpoint", mmengine_save)
    runner = DWPoseRunner.__new__(DWPoseRunner)  # not built: no config, no hooks
    runner._hooks = []
    runner.save_checkpoint(str(tmp_path), "epoch_2.pth")
    return [tmp_path / "epoch_2.pth"]


def _pth_transfer(tmp_path, _):
    torch = pytest.importorskip("torch")
    from dwpose.distiller.transfer import transfer_checkpoint

    t = torch.zeros(1)
    src = tmp_path / "src" / "dis.pth"
    src.parent.mkdir()
    torch.save({"state_dict": {"teacher.backbone.a": t, "teacher.head.b": t, "student.head.b": t}}, src)
    transfer_checkpoint(str(src), str(tmp_path / "plain.pth"))
    return [tmp_path / "plain.pth"]


def _eval_tables(tmp_path, _):
    from dwpose.evaluation.report import save_report

    metrics = {f"coco-wholebody/{p}/{s}": 0.5 for p in ("body", "foot", "face", "hand") for s in ("AP", "AR")}
    metrics.update({"coco-wholebody/AP": 0.5, "coco-wholebody/AR": 0.6})
    save_report(metrics, str(tmp_path), "m")
    return [tmp_path / "m_wholebody_table.md", tmp_path / "m_wholebody_table.json"]


def _add_cat(tmp_path, _):
    from dwpose.datasets.ubody import add_person_category_to_file

    path = tmp_path / "keypoint_annotation.json"
    path.write_text(json.dumps({"images": [], "annotations": []}))
    path.chmod(0o600)  # the rewritten file gets the umask's mode, not the old file's
    add_person_category_to_file(path)
    return [path]


def _onnx(tmp_path, request):
    pytest.importorskip("onnx")
    tiny = request.getfixturevalue("tiny_model")
    from dwpose.export.onnx import export_model
    from dwpose.inference.torch_pose import TorchPoseModel

    return [export_model(TorchPoseModel(tiny.config, tiny.checkpoint), tmp_path / "m.onnx")]


WRITERS = {"npz": _npz, "openpose_json": _openpose_json, "overlay": _overlay, "coco_json": _coco_json,
           "video": _video, "checkpoint": _checkpoint, "runner_checkpoint": _runner_checkpoint,
           "pth_transfer": _pth_transfer, "eval_tables": _eval_tables, "add_cat": _add_cat, "onnx": _onnx}


@pytest.mark.parametrize("umask", [0o022, 0o077], indirect=True)
@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_writer_gives_the_umask_mode(tmp_path, umask, writer, request, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    arg = monkeypatch if writer == "runner_checkpoint" else request
    paths = WRITERS[writer](out, arg)
    assert paths and all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert {p.name: oct(mode(p)) for p in paths} == {p.name: oct(0o666 & ~umask) for p in paths}
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left
