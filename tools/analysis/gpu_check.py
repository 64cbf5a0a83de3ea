"""The GPU check: every CUDA figure of the project from one run, into one JSON + a Markdown table.

Run by ``tools/gpu_check.sh`` (which installs the carried wheels first); see docs/gpu.md. Steps:

- ``train-{t,l}[-amp]``: RTMPose training steps, 256x192, batch 64 (``gpu_steps.py train``);
- ``distill``: stage-1 (l -> t) and stage-2 steps, ours vs mmpose's ``DWPoseDistiller``
  (``benchmark_distill.py``), the teacher's digest before and after;
- ``dist-train``: ``tools/dist_train.sh`` with one process (torchrun, NCCL, SyncBN) on the demo data;
- ``feed-{fast,mmpose}-wN``: the data pipeline with N loader workers feeding the GPU (``gpu_steps.py feed``);
- ``predict-{onnx,torch}``: ``dwpose predict --device cuda`` once (the provider line) and crops/s
  (``gpu_steps.py predict``).

``--dry-run`` runs on a CPU machine: every command line is built as in the real run and parsed by
the parser of the program it calls (``dist_train.sh`` runs with ``PYTHON=echo``, so its torchrun
command line is printed and its ``train.py`` arguments parsed); the modules each step imports are
imported; ``train-t`` and the 1-worker ``feed`` steps are run with zero iterations on the CPU (model,
data set, loader and preprocessor built); nothing is trained or timed.

    python tools/analysis/gpu_check.py --out OUT [--dry-run] [--data COCO_WHOLEBODY_MINI] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import _bench

from dwpose.errors import UserError, guarded

REPO = _bench.REPO
PY = sys.executable
DEMO_STUDENT = "configs/demo/rtmpose-student_demo.py"
T_CONFIG = "configs/wholebody_2d_keypoint/rtmpose/ubody/rtmpose-t_8xb64-270e_coco-ubody-wholebody-256x192.py"
WORKERS = (1, 4, 8, 16)
# modules a step needs on the machine (imported by --dry-run): a missing carried wheel shows here
IMPORTS = ["mmengine", "mmcv", "mmpose.models", "mmpose.models.distillers", "onnxruntime",
           "dwpose.plugin", "dwpose.distiller.model", "dwpose.engine.torchrun", "dwpose.export.onnx"]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for gpu_check.json / gpu_check.md")
    p.add_argument("--dry-run", action="store_true", help="check the command lines only (no CUDA)")
    p.add_argument("--data", type=Path, default=_bench.COCO_MINI,
                   help="COCO-WholeBody mini folder (coco_wholebody_mini.json + images/)")
    p.add_argument("--det", type=Path, help="person detector ONNX for dwpose predict (default: --boxes)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only the steps whose name starts so")
    p.add_argument("--timeout", type=float, default=150, help="seconds per step before it is stopped")
    return p.parse_args(argv)


def _gpu_steps(*argv: str) -> List[str]:
    return [PY, "tools/analysis/gpu_steps.py", *argv]


def plan(args: argparse.Namespace, work: Path) -> List[dict]:
    """Every step: ``name``, ``argv`` (run from the repo root), ``parser`` (for --dry-run), ``json``
    (where the step's figures land: ``"stdout"`` = its last line, else a file)."""
    steps: List[dict] = []
    for size in ("t", "l"):
        for amp in (False, True):
            argv = _gpu_steps("train", "--size", size, "--batch", "64", "--iters", "10",
                              "--device", "cuda", *(["--amp"] if amp else []))
            steps.append(dict(name=f"train-{size}{'-amp' if amp else ''}", argv=argv, parser="gpu_steps"))
    steps.append(dict(name="distill", parser="benchmark_distill", json=str(work / "distill.json"),
                      argv=[PY, "tools/analysis/benchmark_distill.py", "--device", "cuda", "--batch", "64",
                            "--teacher", "l", "--student", "t", "--warmup", "2", "--iters", "5",
                            "--json", str(work / "distill.json")]))
    demo = work / "demo_data"
    steps.append(dict(name="demo-data", parser="dwpose", argv=[
        PY, "-m", "dwpose.cli", "demo-data", str(demo), "--num-train", "32", "--num-val", "8"]))
    opts = [f"data_root={demo}/", "train_cfg.max_epochs=1", "train_dataloader.batch_size=8",
            "train_dataloader.num_workers=2", "val_dataloader.num_workers=0", "train_cfg.val_interval=100"]
    steps.append(dict(name="dist-train", parser="dist_train", log=str(work / "dist"), argv=[
        "bash", "tools/dist_train.sh", DEMO_STUDENT, "1", "--work-dir", str(work / "dist"),
        "--cfg-options", *opts]))
    for side in ("fast", "mmpose"):
        for n in WORKERS:
            steps.append(dict(name=f"feed-{side}-w{n}", parser="gpu_steps", argv=_gpu_steps(
                "feed", "--side", side, "--workers", str(n), "--batch", "64", "--batches", "20",
                "--data", str(args.data), "--device", "cuda")))
    onnx, ckpt = work / "rtmpose-t.onnx", work / "rtmpose-t_random.pth"
    steps.append(dict(name="init-t", parser="gpu_steps", argv=_gpu_steps("init", "--size", "t", str(ckpt))))
    steps.append(dict(name="export-onnx", parser="dwpose", argv=[
        PY, "-m", "dwpose.cli", "export", "onnx", T_CONFIG, str(ckpt), str(onnx)]))
    det = ["--det", str(args.det)] if args.det else ["--boxes", str(args.data / "person_detections.json")]
    for backend, pose in (("onnx", [str(onnx)]), ("torch", [T_CONFIG, str(ckpt)])):
        steps.append(dict(name=f"predict-{backend}-cli", parser="dwpose", providers=True, argv=[
            PY, "-m", "dwpose.cli", "predict", str(args.data / "images"), "--pose", *pose, *det,
            "--device", "cuda", "--out", str(work / f"predict_{backend}")]))
        steps.append(dict(name=f"predict-{backend}", parser="gpu_steps", argv=_gpu_steps(
            "predict", "--pose", *pose, "--batch", "32", "--repeat", "20", "--device", "cuda")))
    return [s for s in steps if not args.only or s["name"].startswith(tuple(args.only))]


def check_argv(step: dict) -> str:
    """--dry-run: parse ``step['argv']`` with the parser of the program it runs; returns a note.

    Raises:
        RuntimeError: the program would refuse the command line (argparse's message).
    """
    with contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            return _check_argv(step)
        except SystemExit:
            raise RuntimeError(f"step {step['name']}: {err.getvalue().strip()}") from None


def _check_argv(step: dict) -> str:
    argv, kind = step["argv"], step["parser"]
    if kind == "gpu_steps":
        importlib.import_module("gpu_steps").parse_args(argv[2:])
    elif kind == "benchmark_distill":
        importlib.import_module("benchmark_distill").parse_args(argv[2:])
    elif kind == "dwpose":
        _parse_dwpose(argv[3:])
    elif kind == "dist_train":
        env = dict(os.environ, PYTHON="echo", PORT="29511")
        run = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
        if run.returncode != 0:
            raise RuntimeError(f"dist_train.sh refused its arguments: {run.stderr.strip()[-500:]}")
        torchrun = shlex.split(run.stdout)
        train_argv = torchrun[torchrun.index(str(REPO / "tools/train.py")) + 1:]
        importlib.import_module("dwpose.engine.train").parse_args(train_argv)
        return "torchrun: " + " ".join(torchrun[:8]) + " ..."
    else:
        raise AssertionError(kind)
    return "parsed"


PLUMBED = ("train-t", "feed-fast-w1", "feed-mmpose-w1")  # --dry-run also builds these, on the CPU


def plumbing_run(step: dict) -> str:
    """--dry-run: a ``gpu_steps.py`` step with zero iterations on the CPU (model / data set / loader /
    preprocessor built, nothing timed); returns a note, raises RuntimeError if it fails."""
    zero = {"--iters": "0", "--batches": "0", "--device": "cpu", "--workers": "0", "--batch": "2"}
    argv = [zero.get(prev, arg) for prev, arg in zip([""] + step["argv"][:-1], step["argv"])]
    run = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        raise RuntimeError(f"step {step['name']} (zero iterations, CPU): {run.stderr.strip()[-800:]}")
    return "built with zero iterations on the CPU: " + run.stdout.strip().splitlines()[-1]


def _parse_dwpose(argv: List[str]) -> None:
    """Parse ``dwpose ARGV`` as the command would (its parser reads sys.argv for the subcommand)."""
    from dwpose.cli import build_parser

    saved = sys.argv
    sys.argv = ["dwpose", *argv]
    try:
        build_parser().parse_args(argv)
    finally:
        sys.argv = saved


def run_step(step: dict, timeout: float) -> dict:
    """Run one step; its figures (JSON), exit status, seconds and the end of its stderr."""
    start = time.perf_counter()
    try:
        run = subprocess.run(step["argv"], cwd=REPO, capture_output=True, text=True, timeout=timeout)
        rc, stdout, stderr = run.returncode, run.stdout, run.stderr
    except subprocess.TimeoutExpired as exc:
        rc, stdout, stderr = 124, exc.stdout or "", f"timed out after {timeout:.0f} s"
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
    out = dict(rc=rc, seconds=round(time.perf_counter() - start, 1))
    if rc != 0:
        out["stderr_tail"] = stderr[-1500:]
    figures: Dict[str, object] = {}
    if step.get("json"):
        with contextlib.suppress(OSError, ValueError):
            figures = json.loads(Path(step["json"]).read_text())
    elif step["parser"] == "gpu_steps" and rc == 0:
        figures = json.loads(stdout.strip().splitlines()[-1])
    if step.get("providers"):
        figures["lines"] = [ln for ln in (stdout + stderr).splitlines()
                            if "provider" in ln.lower() or "warning" in ln.lower()][:5]
    if step.get("log"):
        logs = "\n".join(p.read_text(errors="replace") for p in Path(step["log"]).rglob("*.log"))
        figures.update(nccl="nccl" in logs.lower(), syncbn_reverted="instead of SyncBN" in logs,
                       iterations=logs.count("Epoch(train)"))
    out["figures"] = figures
    return out


def machine() -> str:
    """The GPU and CUDA version (or what is missing), the CPU, python and torch."""
    return _bench.machine(("torch",), gpu=True)


def markdown(results: Dict[str, dict], header: str) -> str:
    """One row per step: status, seconds and its main figures."""
    keys = ("steps_per_s", "samples_per_s", "per_worker", "crops_per_s", "peak_mem_mb", "loss_diff",
            "loss_finite", "providers", "nccl", "syncbn_reverted", "iterations")
    lines = [header, "", "| step | rc | s | figures |", "|---|---|---|---|"]
    for name, r in results.items():
        fig = r.get("figures", {})
        shown = [f"{k} {fig[k]:.4g}" if isinstance(fig[k], float) else f"{k} {fig[k]}"
                 for k in keys if k in fig]
        if "variants" in fig:
            shown += [f"{v}: {len(d['steps']) and len(d['steps']) / sum(d['steps']):.3g} steps/s, "
                      f"teacher unchanged {d['teacher_unchanged']}" for v, d in fig["variants"].items()]
        shown += fig.get("lines", []) + ([r["note"]] if "note" in r else [])
        lines.append(f"| {name} | {r.get('rc', '-')} | {r.get('seconds', '-')} | {'; '.join(shown)} |")
    return "\n".join(lines) + "\n"


def _main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.out / "work" if args.dry_run else Path(os.environ.get("TMPDIR", "/tmp")) / "gpu_check"
    results: Dict[str, dict] = {}
    if args.dry_run:
        for module in IMPORTS:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise UserError(f"step modules: cannot import {module} ({exc}); install the project "
                                "(or, on the GPU machine, the carried wheels: docs/gpu.md)") from None
    for step in plan(args, work):
        if args.dry_run:
            note = plumbing_run(step) if step["name"] in PLUMBED else check_argv(step)
            results[step["name"]] = dict(note=note, argv=step["argv"])
        else:
            print(f"[gpu_check] {step['name']}: {' '.join(step['argv'])}", file=sys.stderr, flush=True)
            results[step["name"]] = dict(run_step(step, args.timeout), argv=step["argv"])
    header = f"GPU check ({'dry run' if args.dry_run else 'run'}): {machine()}"
    (args.out / "gpu_check.json").write_text(json.dumps(dict(machine=machine(), dry_run=args.dry_run,
                                                             steps=results), indent=1))
    (args.out / "gpu_check.md").write_text(markdown(results, header))
    print(markdown(results, header))
    failed = [n for n, r in results.items() if r.get("rc", 0) != 0]
    return 1 if failed else 0


def main(*args, **kwargs) -> int:
    """:func:`_main` through :func:`dwpose.errors.guarded` (a user mistake: one ``error:`` line)."""
    return guarded(lambda: _main(*args, **kwargs), prog="tools/analysis/gpu_check.py")


if __name__ == "__main__":
    sys.exit(main())
