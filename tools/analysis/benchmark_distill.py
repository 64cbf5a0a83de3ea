"""Training-step throughput and peak memory: our TwoStageDistiller vs mmpose 1.3.2's DWPoseDistiller.

Every variant runs in its own subprocess on the same synthetic, pre-collated batches (uint8 images
+ SimCC targets, as PackPoseInputs yields them), so the data loader plays no part: the time is that
of ``model.train_step`` (preprocess, forward, backward, AdamW with clip-grad 1.0). Teachers are
randomly initialised (speed does not depend on the weights). Memory is the subprocess's peak
resident set (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) minus its resident set just before
the model is built, i.e. weights + optimizer state + activations; on CUDA it is
``torch.cuda.max_memory_allocated``.

    python tools/analysis/benchmark_distill.py --teacher l --student t --batch 16 --iters 5

On a machine shared with other jobs, run several ``--rounds``: variants are interleaved and the
fastest step of each is reported next to the median (the minimum is the least disturbed
measurement). Prints a Markdown table (and writes it to --out when given).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from typing import Dict, List

import _bench

from dwpose.errors import guarded

REPO = str(_bench.REPO)
PLAIN_DIR = "configs/wholebody_2d_keypoint/rtmpose/ubody"
PLAIN = {
    "256x192": PLAIN_DIR + "/rtmpose-{}_8xb64-270e_coco-ubody-wholebody-256x192.py",
    "384x288": PLAIN_DIR + "/rtmpose-{}_8xb32-270e_coco-ubody-wholebody-384x288.py",
}
VARIANTS = ["mmpose-s1", "ours-s1", "mmpose-s2", "ours-s2"]
# ours-sN-bf16: the teacher under bf16 autocast (teacher_precision='bf16'); ours-sN-bf16-amp: the
# student trains under --amp too (bf16 autocast on a CPU with native bf16, fp16 AMP on CUDA)
HALF_VARIANTS = ["ours-s1-bf16", "ours-s2-bf16", "ours-s1-bf16-amp", "ours-s2-bf16-amp"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--teacher", default="l", choices=list("tsmlx"), help="stage-1 teacher size")
    p.add_argument("--student", default="t", choices=list("tsmlx"),
                   help="stage-1 student size; stage 2 distils this size into itself")
    p.add_argument("--res", default="256x192", choices=sorted(PLAIN))
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--iters", type=int, default=5, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat the whole set of variants, interleaved, pooling the step times")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: default)")
    p.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS + HALF_VARIANTS)
    p.add_argument("--device", default="cuda" if _cuda() else "cpu")
    p.add_argument("--out", help="also write the Markdown table here")
    p.add_argument("--json", help="also write every variant's step times, memory and teacher check here")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run one variant, print JSON
    return p.parse_args(argv)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _cfg_path(size: str, res: str) -> str:
    return os.path.join(REPO, PLAIN[res].format(size))


def build_variant(name: str, args: argparse.Namespace):
    """The distiller for one variant: ``{mmpose,ours}-s{1,2}[-bf16[-amp]]``."""
    impl, stage, *extra = name.split("-")
    teacher = args.teacher if stage == "s1" else args.student
    t_cfg, s_cfg = _cfg_path(teacher, args.res), _cfg_path(args.student, args.res)
    if impl == "ours":
        from dwpose.distiller.model import TwoStageDistiller

        weights = dict(feature_alpha=7e-5, logit_weight=0.1) if stage == "s1" else \
            dict(feature_alpha=0.0, logit_weight=1.0)
        return TwoStageDistiller(teacher_cfg=t_cfg, student_cfg=s_cfg, teacher_ckpt=None,
                                 stage=int(stage[1]), **weights,
                                 teacher_precision="bf16" if "bf16" in extra else "fp32")
    return _build_mmpose(t_cfg, s_cfg, stage == "s2")


def _build_mmpose(t_cfg: str, s_cfg: str, two_dis: bool):
    """mmpose's DWPoseDistiller as its dwpose configs set it up (SyncBN reverted as the runner does)."""
    from mmengine.config import ConfigDict
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import DefaultScope
    from mmpose.models.distillers import DWPoseDistiller

    from dwpose.engine.config import read_config

    c_t, c_s = (read_config(p).model.head.in_channels for p in (t_cfg, s_cfg))
    methods = [ConfigDict(methods=[dict(type="KDLoss", name="loss_logit", use_this=True,
                                  weight=1.0 if two_dis else 0.1)])]
    if not two_dis:
        methods.insert(0, ConfigDict(methods=[dict(type="FeaLoss", name="loss_fea", use_this=True,
                                             student_channels=c_s, teacher_channels=c_t,
                                             alpha_fea=7e-5)]))
    with DefaultScope.overwrite_default_scope("mmpose"):
        model = DWPoseDistiller(teacher_cfg=t_cfg, student_cfg=s_cfg, two_dis=two_dis,
                                distill_cfg=methods,
                                data_preprocessor=read_config(s_cfg).model.data_preprocessor)
    return revert_sync_batchnorm(model)


def make_batch(n: int, res: str, seed: int = 0) -> dict:
    """``n`` packed samples collated as the data loader would: uint8 images + SimCC targets."""
    import numpy as np
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.structures import InstanceData
    from mmpose.codecs import SimCCLabel
    from mmpose.structures import PoseDataSample

    h, w = (int(v) for v in res.split("x"))
    sigma = (4.9, 5.66) if res == "256x192" else (6.0, 6.93)
    codec = SimCCLabel(input_size=(w, h), sigma=sigma, simcc_split_ratio=2.0)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        enc = codec.encode(rng.uniform([0, 0], [w, h], size=(1, 133, 2)).astype(np.float32),
                           np.ones((1, 133), dtype=np.float32))
        ds = PoseDataSample(metainfo=dict(input_size=(w, h)))
        ds.gt_instance_labels = InstanceData(**{k: torch.from_numpy(enc[k]).float() for k in (
            "keypoint_x_labels", "keypoint_y_labels", "keypoint_weights")})
        img = torch.from_numpy(rng.integers(0, 256, size=(3, h, w), dtype=np.uint8))
        samples.append(dict(inputs=img, data_samples=ds))
    return pseudo_collate(samples)


def _rss_mb() -> float:
    """Current resident set of this process in MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_worker(args: argparse.Namespace) -> Dict[str, object]:
    """Build one variant, time ``train_step``; returns the step times (s) and peak memory (MB)."""
    import torch
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope

    import dwpose.plugin  # noqa: F401

    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope("mmpose")
    hub = MessageHub.get_current_instance()
    hub.update_info("epoch", 0)
    hub.update_info("max_epochs", 270)
    batch = make_batch(args.batch, args.res)
    base_rss = _rss_mb()
    torch.manual_seed(0)
    model = build_variant(args.worker, args).to(args.device)
    model.init_weights()
    model.train()
    wrapper = "OptimWrapper"
    if args.worker.endswith("-amp"):
        wrapper = "AmpOptimWrapper" if args.device.startswith("cuda") else "CPUBf16OptimWrapper"
    optim = _bench.adamw_wrapper(model, wrapper)
    teacher_before = _teacher_digest(model)
    times, _ = _bench.timed_steps(lambda: model.train_step(batch, optim), args.device,
                                  args.warmup, args.iters)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB -> MB on Linux
    mem = torch.cuda.max_memory_allocated() / 2**20 if args.device.startswith("cuda") else peak_rss - base_rss
    return dict(steps=times, mem_mb=mem, teacher_unchanged=_teacher_digest(model) == teacher_before)


def _teacher_digest(model) -> str:
    """sha256 over the teacher's parameters and buffers, bit for bit (``""`` without a teacher)."""
    import hashlib

    import torch

    teacher = getattr(model, "teacher", None)
    if teacher is None:
        return ""
    digest = hashlib.sha256()
    for name, tensor in sorted(teacher.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _spawn(variant: str, argv: List[str]) -> Dict[str, object]:
    cmd = [sys.executable, os.path.abspath(__file__), *argv, "--worker", variant]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if run.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _pair(name: str, args: argparse.Namespace) -> str:
    if name.split("-")[1] == "s1":
        return f"{args.teacher} -> {args.student}"
    return f"{args.student} -> {args.student}{args.student} (head)"


def table(results: Dict[str, dict], args: argparse.Namespace) -> str:
    """Markdown table; speed-up is the ratio of the fastest steps to mmpose's for the same stage."""
    mem_unit = "peak CUDA alloc (MB)" if args.device.startswith("cuda") else "peak RSS delta (MB)"
    lines = [f"| variant | pair ({args.res}) | batch | fastest step (s) | median step (s) | samples/s "
             f"| speed-up | {mem_unit} |", "|---|---|---|---|---|---|---|---|"]
    for name in args.variants:
        r = results[name]
        best, med = min(r["steps"]), statistics.median(r["steps"])
        ref = results.get(f"mmpose-{name.split('-')[1]}")
        speedup = f"{min(ref['steps']) / best:.2f}x" if ref else "-"
        lines.append(f"| {name} | {_pair(name, args)} | {args.batch} | {best:.3f} | {med:.3f} | "
                     f"{args.batch / best:.2f} | {speedup} | {max(r['mem']):.0f} |")
    return "\n".join(lines)


def _main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args)))
        return 0
    passthrough = list(argv if argv is not None else sys.argv[1:])
    results: Dict[str, dict] = {name: dict(steps=[], mem=[], teacher_unchanged=True)
                                for name in args.variants}
    for rnd in range(args.rounds):
        for name in args.variants:
            r = _spawn(name, passthrough)
            results[name]["steps"] += r["steps"]
            results[name]["mem"].append(r["mem_mb"])
            results[name]["teacher_unchanged"] &= bool(r.get("teacher_unchanged", True))
            print(f"round {rnd + 1}/{args.rounds} {name}: steps "
                  f"{', '.join(f'{t:.2f}' for t in r['steps'])} s, {r['mem_mb']:.0f} MB",
                  file=sys.stderr, flush=True)
    text = table(results, args)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(device=args.device, batch=args.batch, res=args.res, variants=results), f, indent=1)
    return 0


def main(*args, **kwargs) -> int:
    """:func:`_main` through :func:`dwpose.errors.guarded` (a user mistake: one ``error:`` line, status 2)."""
    return guarded(lambda: _main(*args, **kwargs), prog="tools/analysis/benchmark_distill.py")


if __name__ == "__main__":
    sys.exit(main())
