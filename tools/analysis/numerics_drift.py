"""Where training runs on two machines part: the same run under other CPU kernels or thread counts.

Trains the demo student (or ``--config``) for ``--epochs`` with the loss logged every iteration,
once per setting, each in its own subprocess on the same generated data and seed:

- ``this CPU's default``   : the kernels PyTorch picks here (e.g. AVX-512) and one thread per core
- ``same, again``          : determinism on one machine (must equal the first)
- ``AVX2 kernels``         : what a machine of the same kind without AVX-512 runs
- ``1 thread``             : another thread count (reductions split differently)
- ``pinned`` / ``pinned, again``: the demo's :data:`PINNED_KERNELS`

and reports, against the first run (or the first pinned run), the first iteration whose loss or
grad-norm differs, the loss difference at the end and the largest weight difference of the final
checkpoints::

    python tools/analysis/numerics_drift.py --epochs 2 --out work_dirs/numerics/drift.md

``--settings`` runs only some of them (each with the run it is compared with); ``--num-train`` and
``--num-val`` size the generated data (a quick check of the tool itself).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import _bench

from dwpose.engine.numerics import PINNED_KERNELS, first_divergence, read_train_scalars
from dwpose.errors import guarded

REPO = str(_bench.REPO)
AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}
# name -> (environment, reference run)
SETTINGS = {
    "this CPU's default": ({}, None),
    "same, again": ({}, "this CPU's default"),
    "AVX2 kernels": (AVX2, "this CPU's default"),
    "1 thread": ({"OMP_NUM_THREADS": "1"}, "this CPU's default"),
    "pinned (demo)": (PINNED_KERNELS, "this CPU's default"),
    "pinned, again": (PINNED_KERNELS, "pinned (demo)"),
}
KERNEL_VARS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "OMP_NUM_THREADS")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=os.path.join(REPO, "configs/demo/rtmpose-student_demo.py"))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--work-dir", default=os.path.join(REPO, "work_dirs/numerics"))
    p.add_argument("--out", default=None, help="also write the Markdown table here")
    p.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS), metavar="NAME",
                   help="the settings to run, by name (default: all)")
    p.add_argument("--num-train", type=int, default=320, help="generated training images")
    p.add_argument("--num-val", type=int, default=64, help="generated validation images")
    args = p.parse_args(argv)
    missing = sorted({SETTINGS[s][1] for s in args.settings} - set(args.settings) - {None})
    if missing:
        p.error(f"--settings: also name the runs they are compared with: {', '.join(missing)}")
    if args.num_train < 1 or args.num_val < 1:
        p.error("--num-train and --num-val must be at least 1")
    return args


def _train(args, name: str, env_extra: dict, data: str) -> str:
    work = os.path.join(args.work_dir, name.replace(" ", "_").replace(",", "").replace("'", ""))
    final = os.path.join(work, f"epoch_{args.epochs}.pth")
    if not os.path.isfile(final):
        env = {k: v for k, v in os.environ.items() if k not in KERNEL_VARS}
        env.update({"OMP_WAIT_POLICY": "PASSIVE", **env_extra})
        cmd = [sys.executable, os.path.join(REPO, "tools/train.py"), args.config, "--work-dir", work,
               "--cfg-options", f"data_root={data}/", f"train_cfg.max_epochs={args.epochs}",
               "train_cfg.val_interval=100000", "default_hooks.logger.interval=1"]
        with open(os.path.join(args.work_dir, f"{os.path.basename(work)}.log"), "w") as log:
            subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    return work


def _max_weight_diff(a: str, b: str, epochs: int) -> float:
    import torch

    from dwpose.engine.checkpoint import load_checkpoint_file

    sa = load_checkpoint_file(os.path.join(a, f"epoch_{epochs}.pth"))["state_dict"]
    sb = load_checkpoint_file(os.path.join(b, f"epoch_{epochs}.pth"))["state_dict"]
    return max(float((sa[k].double() - sb[k].double()).abs().max()) for k in sa
               if torch.is_floating_point(sa[k]) and "running_" not in k)  # learnable weights only


def _main(argv=None) -> int:
    args = parse_args(argv)
    from dwpose.datasets.synthetic import generate_demo_dataset

    os.makedirs(args.work_dir, exist_ok=True)
    data = os.path.join(args.work_dir, "data")
    generate_demo_dataset(data, num_train=args.num_train, num_val=args.num_val)
    chosen = {name: SETTINGS[name] for name in SETTINGS if name in args.settings}
    works = {name: _train(args, name, env, data) for name, (env, _) in chosen.items()}
    scalars = {name: read_train_scalars(w) for name, w in works.items()}
    lines = ["| setting | compared with | first differing iteration | loss at the end (diff) "
             "| largest learnable-weight difference |", "|---|---|---|---|---|"]
    for name, (_, ref) in chosen.items():
        end = scalars[name][-1]["loss"]
        if ref is None:
            lines.append(f"| {name} | - | - | {end:.6f} | - |")
            continue
        first = first_divergence(scalars[name], scalars[ref])
        diff = end - scalars[ref][-1]["loss"]
        wdiff = _max_weight_diff(works[name], works[ref], args.epochs)
        lines.append(f"| {name} | {ref} | {first if first else 'none'} of {len(scalars[name])} "
                     f"| {end:.6f} ({diff:+.1e}) | {wdiff:.1e} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        from dwpose.fileio import atomic_write_text

        atomic_write_text(args.out, table + "\n")
    return 0


def main(*args, **kwargs) -> int:
    """:func:`_main` through :func:`dwpose.errors.guarded` (a user mistake: one ``error:`` line, status 2)."""
    return guarded(lambda: _main(*args, **kwargs), prog="tools/analysis/numerics_drift.py")


if __name__ == "__main__":
    sys.exit(main())
