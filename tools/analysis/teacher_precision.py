"""How far a bf16 teacher is from the float32 teacher, on real photos, and what it saves in time.

Builds the stage-1 distiller of ``--config`` twice from the same weights (a trained teacher
``--teacher-ckpt`` and a student ``--student-ckpt``), once with ``teacher_precision='fp32'`` and once
with ``'bf16'``, and feeds both the same batches: the person crops of a COCO-WholeBody annotation
file (real photos, e.g. ``../shared/data/coco-wholebody-mini``) through the test-time crop
(``GetBBoxCenterScale`` + ``TopdownAffine``, no augmentation) and mmpose's ``GenerateTarget``. Reports

- the teacher's last feature map and SimCC logits: max and mean absolute difference, relative to the
  float32 tensor's max absolute value;
- SimCC argmax agreement: the share of (person, keypoint, axis) rows whose arg-max bin is the same;
- the decoded keypoints' largest shift, in input pixels;
- the distillation losses (``loss_fea``, ``loss_logit``) of the same student under both teachers;
- the teacher forward time per batch, float32 vs bf16, fastest of ``--rounds`` interleaved trials
  (kernels as PyTorch picks them on this CPU; bf16 is refused on a CPU without native bf16).

    python tools/analysis/teacher_precision.py configs/demo/dwpose_s1_demo.py \
        --teacher-ckpt work_dirs/demo/teacher/final.pth --student-ckpt work_dirs/demo/student/final.pth \
        --ann ../shared/data/coco-wholebody-mini/coco_wholebody_mini.json \
        --images ../shared/data/coco-wholebody-mini/images
"""

from __future__ import annotations

import argparse
import os
import sys

import _bench


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="stage-1 distiller config (TwoStageDistiller)")
    p.add_argument("--teacher-ckpt", required=True, help="plain checkpoint of the trained teacher")
    p.add_argument("--student-ckpt", required=True, help="plain checkpoint of a student (for the losses)")
    p.add_argument("--ann", required=True, help="COCO-WholeBody annotation file (real photos)")
    p.add_argument("--images", required=True, help="folder of its images")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing trials per precision")
    p.add_argument("--out", help="also write the Markdown report here")
    return p.parse_args(argv)


def build_batches(cfg, ann: str, images: str, batch: int) -> list:
    """Collated batches of the annotation file's people: test-time crop + SimCC targets."""
    from mmengine.dataset import pseudo_collate
    from mmpose.registry import DATASETS

    input_size = cfg.model_input_size
    codec = cfg.codec
    pipeline = [dict(type="LoadImage"), dict(type="GetBBoxCenterScale", padding=1.25),
                dict(type="TopdownAffine", input_size=input_size),
                dict(type="GenerateTarget", encoder=codec), dict(type="PackPoseInputs")]
    dataset = DATASETS.build(dict(type="CocoWholeBodyDataset", data_root="", data_mode="topdown",
                                  ann_file=os.path.abspath(ann),
                                  data_prefix=dict(img=os.path.abspath(images) + "/"),
                                  pipeline=pipeline))
    samples = [dataset[i] for i in range(len(dataset))]
    return [pseudo_collate(samples[i:i + batch]) for i in range(0, len(samples), batch)]


def build(config: str, teacher_ckpt: str, student_ckpt: str, precision: str):
    import torch
    from mmengine.config import Config
    from mmpose.registry import MODELS

    from dwpose.distiller.build import load_weights_strict

    cfg = Config.fromfile(config)
    cfg.model.teacher_ckpt = os.path.abspath(teacher_ckpt)
    cfg.model.teacher_precision = precision
    cfg.model.pop("_delete_", None)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    load_weights_strict(model.student, student_ckpt, cfg.model.student_cfg)
    return model.eval(), cfg


def compare(ref, half, batches) -> dict:
    """Per-batch teacher outputs and losses of both models, summarised."""
    import torch
    from mmengine.logging import MessageHub

    hub = MessageHub.get_current_instance()
    hub.update_info("epoch", 0)
    hub.update_info("max_epochs", 1)
    diffs = {"feature": [0.0, 0.0, 0.0], "logits": [0.0, 0.0, 0.0]}  # max, sum, count (relative)
    agree = total = agree_lab = total_lab = near = 0
    shift = shift_sum = 0.0
    losses = {"fp32": {}, "bf16": {}}
    split = ref.student.head.simcc_split_ratio
    for data in batches:
        with torch.no_grad():
            d = ref.data_preprocessor(data, training=True)
            inputs, samples = d["inputs"], d["data_samples"]
            f32, l32 = ref._teacher_forward(ref._loss_layout(inputs))
            f16, l16 = half._teacher_forward(half._loss_layout(inputs))
            for key, a, b in (("feature", f16[-1], f32[-1]), ("logits", torch.cat(l16, -1),
                                                               torch.cat(l32, -1))):
                rel = (a - b).abs() / b.abs().max()
                diffs[key][0] = max(diffs[key][0], rel.max().item())
                diffs[key][1] += rel.sum().item()
                diffs[key][2] += rel.numel()
            labelled = torch.cat([s.gt_instance_labels.keypoint_weights for s in samples]) > 0
            for a, b in zip(l16, l32):
                same = a.argmax(-1) == b.argmax(-1)
                agree += same.sum().item()
                total += same.numel()
                agree_lab += same[labelled].sum().item()
                total_lab += labelled.sum().item()
                moved = (a.argmax(-1) - b.argmax(-1)).abs().float() / split
                shift = max(shift, moved.max().item())
                shift_sum += moved.sum().item()
                near += (moved <= 1.0 / split).sum().item()
            for name, model in (("fp32", ref), ("bf16", half)):
                for k, v in model.loss(inputs, samples).items():
                    if k in ("loss_fea", "loss_logit", "loss_kpt"):
                        losses[name].setdefault(k, []).append(v.item())
    mean = {name: {k: sum(v) / len(v) for k, v in d.items()} for name, d in losses.items()}
    return dict(feature_max=diffs["feature"][0], feature_mean=diffs["feature"][1] / diffs["feature"][2],
                logits_max=diffs["logits"][0], logits_mean=diffs["logits"][1] / diffs["logits"][2],
                argmax_agreement=agree / total, rows=total, labelled_agreement=agree_lab / total_lab,
                labelled_rows=total_lab, max_shift_px=shift, mean_shift_px=shift_sum / total,
                within_one_bin=near / total, split=split, losses=mean)


def time_teacher(models: dict, batch, rounds: int) -> dict:
    """Fastest teacher forward per precision, trials interleaved."""
    import torch

    inputs = next(iter(models.values())).data_preprocessor(batch, training=True)["inputs"]

    def forward(model):
        x = model._loss_layout(inputs)
        return lambda: model._teacher_forward(x)

    with torch.no_grad():  # the warm-up call folds BN and builds the oneDNN primitives
        best, _ = _bench.interleaved_best([forward(m) for m in models.values()], rounds)
    return dict(zip(models, best))


def report(args, result: dict, times: dict, n_people: int, cpu: str) -> str:
    lo = result["losses"]
    lines = [
        f"Teacher in bf16 vs float32, {n_people} people ({args.ann}), batch {args.batch}, "
        f"config {args.config}, machine: {cpu}",
        "",
        "| quantity | value |",
        "| :-- | --: |",
        f"| last feature map: max / mean abs difference (relative to max) | "
        f"{result['feature_max']:.4f} / {result['feature_mean']:.5f} |",
        f"| SimCC logits: max / mean abs difference (relative to max) | "
        f"{result['logits_max']:.4f} / {result['logits_mean']:.5f} |",
        f"| SimCC argmax agreement ({result['rows']} rows) | {100 * result['argmax_agreement']:.2f}% |",
        f"| SimCC argmax agreement, annotated keypoints only ({result['labelled_rows']} rows) | "
        f"{100 * result['labelled_agreement']:.2f}% |",
        f"| rows whose argmax moved by at most one bin ({1 / result['split']:.2g} px) | "
        f"{100 * result['within_one_bin']:.2f}% |",
        f"| decoded coordinate shift, mean / largest (input px) | {result['mean_shift_px']:.3f} / "
        f"{result['max_shift_px']:.1f} |",
    ]
    for k in ("loss_fea", "loss_logit"):
        if k in lo["fp32"]:
            a, b = lo["fp32"][k], lo["bf16"][k]
            lines.append(f"| {k} fp32 / bf16 (relative difference) | {a:.6f} / {b:.6f} "
                         f"({abs(b - a) / abs(a):.2%}) |")
    lines.append(f"| teacher forward fp32 / bf16 (s per batch, fastest of {args.rounds}) | "
                 f"{times['fp32']:.3f} / {times['bf16']:.3f} ({times['fp32'] / times['bf16']:.2f}x) |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.registry import init_default_scope

    import dwpose.plugin  # noqa: F401

    init_default_scope("mmpose")
    ref, cfg = build(args.config, args.teacher_ckpt, args.student_ckpt, "fp32")
    half, _ = build(args.config, args.teacher_ckpt, args.student_ckpt, "bf16")
    from mmengine.config import Config

    student_cfg = Config.fromfile(cfg.model.student_cfg)
    student_cfg.model_input_size = student_cfg.codec.input_size
    batches = build_batches(student_cfg, args.ann, args.images, args.batch)
    result = compare(ref, half, batches)
    times = time_teacher({"fp32": ref, "bf16": half}, batches[0], args.rounds)
    cpu = _bench.machine(("torch",))
    text = report(args, result, times, sum(len(b["inputs"]) for b in batches), cpu)
    print(text)
    if args.out:
        from dwpose.fileio import atomic_write_text

        atomic_write_text(args.out, text + "\n")
    return 0


if __name__ == "__main__":
    from dwpose.errors import guarded

    sys.exit(guarded(main, prog="teacher_precision.py"))
