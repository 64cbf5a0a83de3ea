"""Smoke tests of the benchmarks in tools/analysis: each runs at a tiny size exactly as its documented
command line does (``python tools/analysis/X.py ...`` from the repository root) and its tables keep
their columns, with finite positive figures. Speed itself is not asserted (a shared machine)."""

from __future__ import annotations

import json
import math
import sys
import time

import pytest

from tests.tools.analysis_runs import REPO, assert_positive, numbers, run_tool, table

sys.path.insert(0, str(REPO / "tools/analysis"))
import _bench  # noqa: E402


def test_interleaved_best_takes_turns_and_keeps_the_best():
    calls, slow_first = [], iter([0.05, 0.05] + [0.0] * 10)

    def a():
        calls.append("a")
        time.sleep(next(slow_first))  # the warm-up and trial 1 of `a` are disturbed, later ones not
        return len(calls)

    def b():
        calls.append("b")
        return "b"

    best, last = _bench.interleaved_best([a, b], trials=3)
    assert calls == ["a", "b"] * 4  # one warm-up round, then the functions take turns
    assert best[0] < 0.04 and best[1] < 0.04
    assert last == [7, "b"]
    best, _ = _bench.interleaved_best([a], trials=1, warmup=False)
    assert calls[-1] == "a" and len(calls) == 9


def test_timed_steps_skips_the_warmup():
    seen = []
    times, results = _bench.timed_steps(lambda: seen.append(1) or len(seen), "cpu", warmup=2, iters=3)
    assert results == [1, 2, 3, 4, 5] and len(times) == 3 and all(t >= 0 for t in times)


def test_machine_line_names_cpu_cores_and_versions():
    import onnxruntime

    from dwpose.inference.runtime import cpu_count

    line = _bench.machine(("onnxruntime", "no_such_package"), note=" (x)")
    assert f", {cpu_count()} cores, no GPU used (x); python " in line
    assert f"onnxruntime {onnxruntime.__version__}" in line and "no_such_package not installed" in line
    assert "CUDA" in _bench.machine(("torch",), gpu=True) or "no CUDA device" in _bench.machine(gpu=True)


def test_photos_lists_pictures_by_name(tmp_path):
    for name in ("b.JPG", "a.png", "c.jpeg", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in _bench.photos(tmp_path)] == ["a.png", "b.JPG", "c.jpeg"]


@pytest.mark.parametrize("script,option", [("distill_study.py", "--work-dir"),
                                           ("benchmark_video.py", "--frames"), ("gpu_check.py", "--dry-run")])
def test_documented_command_line_works_without_pythonpath(script, option):
    """``python tools/analysis/X.py`` from the repository root, nothing on PYTHONPATH (docs/benchmarks.md)."""
    assert option in run_tool(script, "--help", env={"PYTHONPATH": ""}).stdout


def test_a_script_uses_its_own_checkout():
    import subprocess

    code = "import _bench, dwpose; print(dwpose.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO / "tools/analysis", capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin"}, check=True).stdout
    assert out.strip() == str(REPO / "dwpose/__init__.py")


@pytest.fixture()
def one_photo(tmp_path, photos):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / photos[0].name).write_bytes(photos[0].read_bytes())
    return folder


@pytest.mark.slow
def test_benchmark_inference(one_photo, weights_dir):
    pytest.importorskip("rtmlib")
    pytest.importorskip("mmpose")
    run = run_tool("benchmark_inference.py", "--images", str(one_photo), "--repeat", "1", "--trials", "1",
                   "--det", str(weights_dir / "rtmdet-nano_person_end2end.onnx"))
    head, rows = table(run.stdout, "stage")
    assert head == ["stage", "implementation", "throughput", "ms per item"]
    assert [r[0] for r in rows] == ["pose"] * 7 + ["end to end"] * 3
    assert_positive(rows, [2, 3])
    for r in rows:  # ms per item is 1000 / throughput (both rounded when printed: 1 % slack)
        assert numbers(r[2])[0] == pytest.approx(1000 / numbers(r[3])[0], rel=0.01, abs=0.051)
    assert "\nmachine: " in "\n" + run.stdout and "1 images (1 photos x 1)" in run.stdout  # rtmlib prints too
    assert run.stdout.count("(target ") == 3


@pytest.mark.slow
def test_benchmark_video(tiny_model, weights_dir):
    run = run_tool("benchmark_video.py", "--pose", str(tiny_model.onnx), "--frames", "4", "--trials", "1",
                   "--det-every", "2", "--no-rtmlib", "--det",
                   str(weights_dir / "rtmdet-nano_person_end2end.onnx"))
    head, rows = table(run.stdout, "pipeline")
    assert head == ["pipeline", "frames/s", "ms per frame", "detector calls per pass"]
    assert [r[0] for r in rows] == ["dwpose --track --det-every 1", "dwpose --track --det-every 2",
                                    "dwpose --track --det-every 2, lost-pose re-detection off"]
    assert_positive(rows, [1, 2, 3])
    assert rows[0][3] == "4 / 4"
    assert all(1 <= numbers(r[3])[0] <= 4 for r in rows)
    head, rows = table(run.stdout, "keypoint noise")
    assert len(head) == 3 and [r[0] for r in rows] == ["0.005", "0.010", "0.020"]
    for r in rows:  # "raw -> smoothed (change %)": two positive distances
        assert all(math.isfinite(v) and v > 0 for c in (1, 2) for v in numbers(r[c])[:2]), r
    assert "stage costs: detector" in run.stdout


@pytest.mark.slow
def test_benchmark_pipeline(coco_mini):
    pytest.importorskip("mmpose")
    run = run_tool("benchmark_pipeline.py", "--data", str(coco_mini), "--passes", "1", "--trials", "1",
                   "--repeats", "1", "--batch", "4")
    head, rows = table(run.stdout, "step (ms per sample")
    assert len(head) == 4 and head[1].startswith("mmpose") and head[3].startswith("ours + fast")
    labels = [r[0] for r in rows]
    for step in ("LoadImage", "TopdownAffine", "**total per sample**",
                 "**samples/s per core** (best / median)"):
        assert step in labels, step
    total = rows[labels.index("**total per sample**")]
    assert_positive([total], [1, 2, 3])
    head, rows = table(run.stdout, "step or part (best of 1 repeats")
    assert head[1] == "ms" and len(rows) >= 10
    # a part can take less than the printed 0.01 ms on a fast idle host: finite and >= 0 each, and the
    # parts together take time
    parts = [numbers(r[1]) for r in rows]
    assert all(p and all(math.isfinite(v) and v >= 0 for v in p) for p in parts), rows
    assert sum(v for p in parts for v in p) > 0
    assert "Machine: " in run.stdout and "load average at the end" in run.stdout


@pytest.mark.slow
def test_benchmark_distill(tmp_path):
    pytest.importorskip("mmpose")
    out = tmp_path / "distill.json"
    run = run_tool("benchmark_distill.py", "--teacher", "t", "--student", "t", "--batch", "2", "--warmup",
                   "0", "--iters", "1", "--variants", "mmpose-s2", "ours-s2", "--device", "cpu",
                   "--json", str(out))
    head, rows = table(run.stdout, "variant")
    assert head == ["variant", "pair (256x192)", "batch", "fastest step (s)", "median step (s)", "samples/s",
                    "speed-up", "peak RSS delta (MB)"]
    assert [r[0] for r in rows] == ["mmpose-s2", "ours-s2"] and rows[1][1] == "t -> tt (head)"
    assert_positive(rows, [3, 4, 5, 6])
    variants = json.loads(out.read_text())["variants"]
    assert all(len(v["steps"]) == 1 and isinstance(v["teacher_unchanged"], bool) for v in variants.values())


@pytest.mark.slow
def test_benchmark_cog(tiny_model, one_photo, weights_dir):
    pytest.importorskip("cog")
    run = run_tool("benchmark_cog.py", "--pose", str(tiny_model.onnx), "--images", str(one_photo),
                   "--det", str(weights_dir / "rtmdet-nano_person_end2end.onnx"), "--clients", "2",
                   "--rounds", "1", "--slots", "2", "--soak", "2", timeout=400)
    head, rows = table(run.stdout, "COG_MAX_CONCURRENCY")
    assert head[:4] == ["COG_MAX_CONCURRENCY", "clients at once", "requests", "answered"]
    assert head[-4:] == ["p50 ms", "p95 ms", "max ms", "requests/s"]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [("2", "1", "2", "2"), ("2", "2", "2", "2")]
    assert_positive(rows, [6, 7, 8, 9])
    head, rows = table(run.stdout.split("requests one after another")[1], "COG_MAX_CONCURRENCY")
    assert head[2] == "worker RSS at 20th" and len(rows) == 1
    assert_positive(rows, [2, 3])


def test_gpu_steps_predict_on_the_cpu(tiny_model):
    run = run_tool("gpu_steps.py", "predict", "--pose", str(tiny_model.onnx), "--device", "cpu",
                   "--batch", "2", "--repeat", "2")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["backend"] == "onnxruntime" and result["providers"] == ["CPUExecutionProvider"]
    assert math.isfinite(result["crops_per_s"]) and result["crops_per_s"] > 0


@pytest.mark.slow
def test_teacher_precision(tmp_path, coco_mini):
    pytest.importorskip("mmpose")
    from tests.distiller.helpers import make_teacher_ckpt

    demo = REPO / "configs/demo"
    teacher = make_teacher_ckpt(tmp_path / "teacher.pth", str(demo / "rtmpose-teacher_demo.py"))
    student = make_teacher_ckpt(tmp_path / "student.pth", str(demo / "rtmpose-student_demo.py"), seed=1)
    run = run_tool("teacher_precision.py", "configs/demo/dwpose_s1_demo.py", "--teacher-ckpt", teacher,
                   "--student-ckpt", student, "--ann", str(coco_mini / "coco_wholebody_mini.json"),
                   "--images", str(coco_mini / "images"), "--batch", "8", "--rounds", "1")
    head, rows = table(run.stdout, "quantity")
    assert head == ["quantity", "value"]
    labels = [r[0] for r in rows]
    assert labels[0].startswith("last feature map") and labels[-1].startswith("teacher forward fp32 / bf16")
    assert any(label.startswith("loss_fea fp32 / bf16") for label in labels)
    assert_positive([rows[0], rows[-1]], [1])
    agreement = next(r[1] for r in rows if r[0].startswith("SimCC argmax agreement ("))
    assert 0 <= numbers(agreement)[0] <= 100
    assert "machine: " in run.stdout and " cores, no GPU used; python " in run.stdout


@pytest.mark.slow
def test_numerics_drift_same_run_twice_is_identical(tmp_path):
    pytest.importorskip("mmpose")
    run = run_tool("numerics_drift.py", "--settings", "this CPU's default", "same, again", "--epochs", "1",
                   "--num-train", "16", "--num-val", "4", "--work-dir", str(tmp_path), "--out",
                   str(tmp_path / "drift.md"))
    head, rows = table(run.stdout, "setting")
    assert head == ["setting", "compared with", "first differing iteration", "loss at the end (diff)",
                    "largest learnable-weight difference"]
    assert [r[:2] for r in rows] == [["this CPU's default", "-"], ["same, again", "this CPU's default"]]
    assert rows[1][2].startswith("none of ") and numbers(rows[1][4]) == [0.0]
    losses = [numbers(r[3]) for r in rows]  # "end loss (diff)": the same loss, difference 0
    assert losses[0][0] == losses[1][0] > 0 and losses[1][1] == 0
    assert (tmp_path / "drift.md").read_text().strip() == run.stdout.strip()


def test_numerics_drift_needs_the_reference_run():
    import subprocess

    run = subprocess.run([sys.executable, "tools/analysis/numerics_drift.py", "--settings", "same, again"],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].endswith("compared with: this CPU's default")


@pytest.mark.slow
def test_part_errors(tmp_path, coco_mini):
    pytest.importorskip("mmpose")
    from tests.distiller.helpers import make_teacher_ckpt

    config = str(REPO / "configs/demo/rtmpose-student_demo.py")
    ckpt = make_teacher_ckpt(tmp_path / "student.pth", config)
    ann = str(coco_mini / "coco_wholebody_mini.json")
    run = run_tool("part_errors.py", ann, str(coco_mini / "images"), "--model", "s", config, ckpt,
                   "--real", ann)
    head, rows = table(run.stdout, "part")
    assert head == ["part", "visible keypoints", "part size", "OKS-0.5 tolerance", "s median error",
                    "s within tolerance", "s part-centre error"]
    assert [r[0] for r in rows] == ["body", "foot", "face", "hand", "wrists"]
    assert_positive(rows, [1, 2, 3, 4])
    assert all(0 <= numbers(r[5])[0] <= 100 for r in rows)
    assert "face: " in run.stdout and "hand: " in run.stdout


@pytest.mark.slow
def test_step_breakdown(tmp_path):
    pytest.importorskip("mmpose")
    from dwpose.datasets.synthetic import generate_demo_dataset

    generate_demo_dataset(tmp_path / "data", num_train=32, num_val=2)
    run = run_tool("step_breakdown.py", "--data", str(tmp_path / "data"), "--iters", "2", "--warmup", "0")
    head, rows = table(run.stdout, "part of a training step")
    assert head == ["part of a training step", "median ms", "share"]
    parts = [r[0] for r in rows]
    assert parts[:9] == ["data wait", "SimCC labels + normalise", "backbone forward", "head forward",
                         "KL loss", "accuracy (numpy, logged only)", "backward", "clip + AdamW", "EMA update"]
    values = [numbers(r[1])[0] for r in rows]
    assert all(math.isfinite(v) and v >= 0 for v in values) and values[9] > 0  # a part may print 0.0 ms
    assert values[9] == pytest.approx(sum(values[:9]), abs=0.1 * 9)  # the sum row is the sum (print rounding)
    assert "largest relative difference 0.0e+00" in run.stdout  # cut-up loss = mmpose's head.loss, bitwise
    # the demo student: about 0.14 GMAC per 128x96 picture forward, so a batch of 16 forward + backward
    # (about twice the forward) is 3 x 2 x 0.14 x 16 = 13.4 GFLOP
    flops = float(run.stdout.split("FLOPs of one forward + backward: ")[1].split()[0])
    assert 10 < flops < 18
