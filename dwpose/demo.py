"""``dwpose demo``: the whole DWPose recipe in miniature, on CPU, on data the project generates.

Steps (each skipped when its result already exists, so a killed demo resumes where it stopped):
generate the synthetic data set -> pre-train the student's and the teacher's backbones on the body
keypoints (the miniature's AIC-COCO checkpoints) -> score the untrained student (pretrained backbone,
random head) -> train the teacher and the student without distillation, both from their pretrained
backbones -> stage-1 distillation (teacher -> student) -> pth_transfer -> stage-2 head
self-distillation -> pth_transfer -> evaluate every model -> predict one picture.
The steps are the public functions of :mod:`dwpose.workflow`; the configs are the package's
``configs/demo/`` (:mod:`dwpose.package_data`), so an installed package runs it from any directory.
Prints one AP/AR row per model and writes ``work_dirs/demo/results.md`` (under the current directory).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dwpose.fileio import atomic_write_text
from dwpose.package_data import config_path
from dwpose.workflow import (
    RunOptions,
    Training,
    evaluate,
    pretrained_options,
    run_tool,
    save_untrained,
    train,
    transfer,
    write_pretrained_child,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", default="work_dirs/demo",
                        help="where everything goes (relative to the current directory)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="override every stage's epoch count (for a quicker look)")
    parser.add_argument("--quiet", action="store_true", help="hide the training progress lines")
    parser.add_argument("--num-train", type=int, default=320, help=argparse.SUPPRESS)  # quick tests
    parser.add_argument("--num-val", type=int, default=64, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from dwpose.datasets.synthetic import generate_demo_dataset

    t0 = time.time()
    root = Path(os.path.abspath(Path(args.work_dir).expanduser()))
    data = root / "data"
    clock = _Clock()
    opts = RunOptions(data=data, epochs=args.epochs, quiet=args.quiet)
    print(f"[1/9] synthetic COCO-WholeBody data set -> {data}")
    summary = generate_demo_dataset(data, num_train=args.num_train, num_val=args.num_val)
    print(f"      {summary}")
    cfg = lambda name: config_path(f"demo/{name}.py")  # noqa: E731  (the package's configs/demo/)
    student_cfg, teacher_cfg = cfg("rtmpose-student_demo"), cfg("rtmpose-teacher_demo")
    student_body_cfg = cfg("rtmpose-student_body-pretrain_demo")
    teacher_body_cfg = cfg("rtmpose-teacher_body-pretrain_demo")
    clock.lap("data set")

    # Two lanes side by side, each a chain: the teacher's (body pre-training, then the teacher) and
    # the student's (body pre-training, the untrained reference row, the plain student, then the
    # scores of both while the teacher still trains). A lane goes on as soon as its own step ends;
    # every process keeps its pinned kernels, so no number changes.
    def teacher_lane() -> Path:
        body = train(Training(teacher_body_cfg, root / "pretrain" / "teacher"), opts, "[teacher] ")
        return train(Training(teacher_cfg, root / "teacher", pretrained_options(body)), opts, "[teacher] ")

    def student_lane() -> tuple[Path, dict, dict]:
        body = train(Training(student_body_cfg, root / "pretrain" / "student"), opts, "[student] ")
        untrained = save_untrained(student_cfg, root / "untrained.pth", pretrained_options(body))
        plain = train(Training(student_cfg, root / "student", pretrained_options(body)), opts, "[student] ")
        return (body, evaluate("untrained", student_cfg, untrained, root, opts),
                evaluate("student", student_cfg, plain, root, opts))

    print("[2/9] body pre-training of the teacher's and the student's backbones, [3/9] the untrained\n"
          "      student (pretrained backbone, random head: reference row), [4/9] the teacher and\n"
          "      [5/9] the student without distillation: a teacher lane and a student lane side by side")
    with ThreadPoolExecutor(max_workers=2) as lanes:  # leaving the block waits for both lanes
        teacher_future, student_future = lanes.submit(teacher_lane), lanes.submit(student_lane)
    teacher = teacher_future.result()  # a failed lane raises its error here, after both ended
    student_body, untrained_row, plain_row = student_future.result()
    # a distiller builds its student from a config file: this child names the pretrained backbone
    student_child = write_pretrained_child(student_cfg, student_body, root / "pretrain" / "student_init.py")
    distilled_init = pretrained_options(student_body, distiller=True, student_config=student_child)
    clock.lap("body pre-training and teacher, the student lane beside them")
    # The other evaluations run in a second lane while the next stage trains (a training process
    # keeps about 1.3 of the 2 cores busy); every process keeps its pinned kernels.
    with ThreadPoolExecutor(max_workers=1) as lane:
        score = lambda name, config, ckpt: lane.submit(evaluate, name, config, ckpt, root, opts)  # noqa: E731
        rows = {"untrained student": untrained_row, "teacher": score("teacher", teacher_cfg, teacher),
                "student (no distillation)": plain_row}
        print("[6/9] stage 1: feature + logit distillation teacher -> student")
        s1 = train(Training(cfg("dwpose_s1_demo"), root / "s1",
                            (f"model.teacher_ckpt={teacher}", *distilled_init)), opts)
        s1_pose = transfer(s1, root / "s1_student.pth")
        clock.lap("stage 1 (the teacher's evaluation beside it)")
        rows["student after stage 1"] = score("s1", student_cfg, s1_pose)
        print("[7/9] stage 2: head self-distillation")
        s2 = train(Training(cfg("dwpose_s2_demo"), root / "s2", (f"model.teacher_ckpt={s1_pose}",)), opts)
        s2_pose = transfer(s2, root / "dwpose_student.pth")
        clock.lap("stage 2")
        rows["student after stage 2 (DWPose)"] = score("s2", student_cfg, s2_pose)
        print("[8/9] evaluation on the demo validation split (run beside the training above)")
        print("[9/9] prediction on one validation picture")
        pred_dir = _predict_one(student_cfg, s2_pose, data, root)
        rows = {name: row if isinstance(row, dict) else row.result() for name, row in rows.items()}
    clock.lap("last evaluation, prediction")
    table = _format(rows) + "\n\n" + _against_study(rows)
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
    run_tool(cmd, root / "predict_output.log", quiet=True)
    return out


# the demo's rows (plain student first) under the study's variant names
STUDY_ROWS = {"plain": "student (no distillation)", "s1_full": "student after stage 1",
              "dwpose": "student after stage 2 (DWPose)"}


def _against_study(rows: dict[str, dict]) -> str:
    """The distilled rows' gain over this run's plain student, next to the distillation study's
    paired gain over its seeds (one run moves with the seed by about as much as the effect)."""
    from dwpose.package_data import config_path
    from dwpose.study.reference import format_against_study

    shipped = json.loads(config_path("demo/study/paired_gains.json").read_text())
    whole = {variant: (rows[name].get("wholebody") or {}).get("AP") for variant, name in STUDY_ROWS.items()}
    labels = {v: STUDY_ROWS[v] for v in ("s1_full", "dwpose")}
    return (f"Whole AP gains against the distillation study (`{shipped['command']}`, {shipped['machine']}; "
            "details in docs/distill_study.md):\n\n" + format_against_study(whole, shipped["gains"], labels))


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
