"""``dwpose demo``: the whole DWPose recipe in miniature, on CPU, on data the project generates.

Steps (each skipped when its result already exists, so a killed demo resumes where it stopped):
generate the synthetic data set -> score the untrained student -> train a tiny teacher -> train the
student without distillation -> stage-1 distillation (teacher -> student) -> pth_transfer ->
stage-2 head self-distillation -> pth_transfer -> evaluate every model -> predict one picture.
Prints one AP/AR row per model and writes ``work_dirs/demo/results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dwpose.engine.numerics import pinned_env
from dwpose.fileio import atomic_write_text

# The demo trains the configs of configs/demo/, which live in the repository, not in the package:
# it is offered from a checkout (`make demo`); an installed package says so and stops.
REPO = Path(__file__).resolve().parents[1]
DEMO_CFG = REPO / "configs" / "demo"
# end-of-epoch lines, our resume notes and real error lines (not torch's build flags such as -Werror=...)
SHOW = re.compile(r"Epoch\(train\)\s+\[\d+\]\[\s*(\d+)/\1\]|(?:^|\s)(?:\w*Error|error):|resume:")
COMPACT = re.compile(r"(Epoch\(train\)\s+\[\d+\]\[\s*\d+/\d+\]).*?(eta: \S+).*?(loss: [0-9.]+)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", default="work_dirs/demo", help="where everything goes")
    parser.add_argument("--epochs", type=int, default=None,
                        help="override every stage's epoch count (for a quicker look)")
    parser.add_argument("--quiet", action="store_true", help="hide the training progress lines")
    parser.add_argument("--num-train", type=int, default=320, help=argparse.SUPPRESS)  # quick tests
    parser.add_argument("--num-val", type=int, default=64, help=argparse.SUPPRESS)


def _start(cmd: list[str], log_path: Path, quiet: bool, tag: str = "") -> _Job:
    """Start a tool in the background, keeping its full output in ``log_path``."""
    # pinned kernels: the same arithmetic on every x86-64 machine (dwpose/engine/numerics.py);
    # PASSIVE: idle OpenMP threads sleep instead of spinning against the data-loader worker (2 cores)
    env = {**pinned_env(OMP_WAIT_POLICY="PASSIVE"), "PYTHONUNBUFFERED": "1"}
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
                            env=env)
    job = _Job(proc, log, log_path)

    def pump() -> None:  # echo the progress lines while keeping every line in the log
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if not quiet and SHOW.search(line):
                m = COMPACT.search(line)
                print(f"    {tag}" + (" ".join(m.groups()) if m else line.rstrip()[-150:]), flush=True)

    job.reader = threading.Thread(target=pump, daemon=True)
    job.reader.start()
    return job


class _Job:
    def __init__(self, proc: subprocess.Popen, log, log_path: Path) -> None:
        self.proc, self.log, self.log_path, self.reader = proc, log, log_path, None

    def wait(self) -> None:
        code = self.proc.wait()
        self.reader.join()
        self.log.close()
        if code != 0:
            raise RuntimeError(f"step failed (exit {code}); full log: {self.log_path}")


def _run(cmd: list[str], log_path: Path, quiet: bool) -> None:
    """Run a tool, keep its full output in ``log_path``, echo the progress lines."""
    _start(cmd, log_path, quiet).wait()


def _data_options(data: Path | None, epochs: int | None) -> list[str]:
    # no validation inside training: every model is scored once, by dwpose.engine.test, in step 7
    opts = ([f"data_root={data}/"] if data else []) + ["train_cfg.val_interval=100000"]
    if epochs:
        opts.append(f"train_cfg.max_epochs={epochs}")
    return opts


def _train(config: Path, work: Path, data: Path | None, args, extra: tuple[str, ...] = ()) -> Path:
    """Train ``config`` into ``work`` (resuming if interrupted); returns the final checkpoint."""
    return _train_all([(config, work, extra)], data, args)[0]


def _train_all(runs: list, data: Path | None, args) -> list[Path]:
    """Train independent ``(config, work, extra)`` runs side by side; returns their final checkpoints.

    Each run keeps its own pinned thread count, so running two at once changes no number, only the
    wall time: one training process keeps about 1.3 of the 2 cores busy (Python, the data worker and
    the optimizer step leave gaps), and the second fills them.
    """
    jobs = []
    for config, work, extra in runs:
        done = work / "final.pth"
        if done.is_file():
            print(f"  [skip] {work.name}: already trained ({done})")
            continue
        work.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "dwpose.engine.train", str(config), "--work-dir", str(work),
               "--resume", "--cfg-options", *_data_options(data, args.epochs), *extra]
        tag = f"[{work.name}] " if len(runs) > 1 else ""
        jobs.append((work, _start(cmd, work / "train_output.log", args.quiet, tag)))
    failure = None
    for work, job in jobs:  # wait for all, even when one fails, so that none is left running
        try:
            job.wait()
        except RuntimeError as exc:
            failure = failure or exc
            continue
        os.link((work / "last_checkpoint").read_text().strip(), work / "final.pth")
    if failure:
        raise failure
    return [work / "final.pth" for _, work, _ in runs]


def _evaluate(name: str, config: Path, ckpt: Path, data: Path | None, root: Path,
              extra: tuple[str, ...] = ()) -> dict:
    out = root / "eval" / name
    result = out / f"{name}_wholebody_table.json"  # written by dwpose.engine.test (print_and_save)
    if not result.is_file():
        out.mkdir(parents=True, exist_ok=True)
        options = ([f"data_root={data}/"] if data else []) + list(extra)
        cmd = [sys.executable, "-m", "dwpose.engine.test", str(config), str(ckpt), "--work-dir",
               str(out), *(["--cfg-options", *options] if options else [])]
        _run(cmd, out / "test_output.log", quiet=True)
    rows = json.loads(result.read_text())["rows"]
    return rows[name]


def run(args: argparse.Namespace) -> int:
    from dwpose.datasets.synthetic import generate_demo_dataset

    if not (DEMO_CFG / "rtmpose-student_demo.py").is_file():
        raise FileNotFoundError(f"dwpose demo trains the configs of the repository's configs/demo/, which "
                                f"an installed package does not carry ({DEMO_CFG} does not exist): run it "
                                f"from a checkout, `git clone ... && make demo`")

    t0 = time.time()
    root = (REPO / args.work_dir).resolve() if not os.path.isabs(args.work_dir) else Path(args.work_dir)
    data = root / "data"
    clock = _Clock()
    print(f"[1/8] synthetic COCO-WholeBody data set -> {data}")
    summary = generate_demo_dataset(data, num_train=args.num_train, num_val=args.num_val)
    print(f"      {summary}")
    student_cfg, teacher_cfg = DEMO_CFG / "rtmpose-student_demo.py", DEMO_CFG / "rtmpose-teacher_demo.py"

    print("[2/8] untrained student (reference row)")
    untrained = _save_untrained(student_cfg, root / "untrained.pth")
    clock.lap("data set, untrained student")
    print("[3/8] teacher and [4/8] student without distillation, side by side")
    teacher, student = _train_all([(teacher_cfg, root / "teacher", ()), (student_cfg, root / "student", ())],
                                  data, args)
    clock.lap("teacher, with the plain student beside it")
    # Evaluations run in a second lane while the next stage trains (a training process keeps about
    # 1.3 of the 2 cores busy); every process keeps its pinned kernels, so no number changes.
    with ThreadPoolExecutor(max_workers=1) as lane:
        rows = {
            "untrained student": lane.submit(_evaluate, "untrained", student_cfg, untrained, data, root),
            "teacher": lane.submit(_evaluate, "teacher", teacher_cfg, teacher, data, root),
            "student (no distillation)": lane.submit(_evaluate, "student", student_cfg, student, data, root),
        }
        print("[5/8] stage 1: feature + logit distillation teacher -> student")
        s1 = _train(DEMO_CFG / "dwpose_s1_demo.py", root / "s1", data, args,
                    (f"model.teacher_ckpt={teacher}",))
        s1_pose = _transfer(s1, root / "s1_student.pth")
        clock.lap("stage 1 (first evaluations beside it)")
        rows["student after stage 1"] = lane.submit(_evaluate, "s1", student_cfg, s1_pose, data, root)
        print("[6/8] stage 2: head self-distillation")
        s2 = _train(DEMO_CFG / "dwpose_s2_demo.py", root / "s2", data, args,
                    (f"model.teacher_ckpt={s1_pose}",))
        s2_pose = _transfer(s2, root / "dwpose_student.pth")
        clock.lap("stage 2")
        rows["student after stage 2 (DWPose)"] = lane.submit(_evaluate, "s2", student_cfg, s2_pose,
                                                             data, root)
        print("[7/8] evaluation on the demo validation split (run beside the training above)")
        print("[8/8] prediction on one validation picture")
        pred_dir = _predict_one(student_cfg, s2_pose, data, root)
        rows = {name: future.result() for name, future in rows.items()}
    clock.lap("last evaluation, prediction")
    table = _format(rows)
    atomic_write_text(root / "results.md", table + "\n")
    print("\n" + table)
    print(f"\nprediction written to {pred_dir}; table saved to {root / 'results.md'}")
    print("\ntime per step (a resumed step counts only what it still had to do):")
    for label, seconds in clock.laps:
        print(f"  {seconds:6.0f} s  {label}")
    print(f"demo finished in {time.time() - t0:.0f} s")
    return 0


class _Clock:
    """Wall time of each demo step, printed at the end (a slow host shows in the demo's own output)."""

    def __init__(self) -> None:
        self.laps: list[tuple[str, float]] = []
        self._last = time.time()

    def lap(self, label: str) -> None:
        now = time.time()
        self.laps.append((label, now - self._last))
        self._last = now


def _save_untrained(config: Path, path: Path) -> Path:
    """Checkpoint of the student at initialisation (seeded), the 'before learning' row."""
    if path.is_file():
        return path
    import torch
    from mmengine.logging import MMLogger
    from mmengine.model.utils import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    import dwpose.plugin  # noqa: F401
    from dwpose.engine.checkpoint import atomic_save
    from dwpose.engine.config import read_config

    cfg = read_config(config)
    MMLogger.get_instance("dwpose-demo", log_level="WARNING")  # no per-parameter init report
    init_default_scope("mmpose")
    torch.manual_seed(cfg.randomness.seed)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    atomic_save({"meta": {"note": "untrained"}, "state_dict": model.state_dict()}, path)
    return path


def _transfer(dis_ckpt: Path, out: Path) -> Path:
    if not out.is_file():
        from dwpose.distiller.transfer import transfer_checkpoint

        stage = transfer_checkpoint(str(dis_ckpt), str(out))
        print(f"      pth_transfer: {dis_ckpt.name} ({stage}) -> {out.name}")
    return out


def _predict_one(config: Path, ckpt: Path, data: Path, root: Path) -> Path:
    """``dwpose predict`` on the first validation picture, with its annotated person box."""
    gt = json.loads((data / "annotations" / "demo_wholebody_val.json").read_text())
    image = gt["images"][0]
    x, y, w, h = next(a["bbox"] for a in gt["annotations"] if a["image_id"] == image["id"])
    boxes = root / "predict_boxes.json"
    boxes.write_text(json.dumps({image["file_name"]: [[x, y, x + w, y + h]]}))
    out = root / "predict"
    cmd = [sys.executable, "-m", "dwpose.cli", "predict", str(data / "images" / "val" / image["file_name"]),
           "--pose", str(config), str(ckpt), "--boxes", str(boxes), "--out", str(out)]
    _run(cmd, root / "predict_output.log", quiet=True)
    return out


def _format(rows: dict[str, dict]) -> str:
    from dwpose.evaluation.report import format_table

    return format_table(rows, first_column="Model (demo validation split)")


def main() -> int:
    from dwpose.cli import guarded

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(p)
    args = p.parse_args()
    return guarded(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
