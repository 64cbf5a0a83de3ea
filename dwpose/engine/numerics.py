"""Why training runs differ between machines, and the kernel settings that make them agree.

A CPU run of the same code, seed and data is bit-identical when repeated on one machine, but
PyTorch picks its kernels at run time: ATen's vectorised CPU kernels by the best instruction set
the CPU has (``ATEN_CPU_CAPABILITY``: AVX-512 here, AVX2 on older x86 machines), oneDNN's
convolutions likewise (``ONEDNN_MAX_CPU_ISA``), MKL its BLAS code path (``MKL_CBWR``), and every
reduction splits its work by the number of threads (``OMP_NUM_THREADS``, default: the cores).
Each choice rounds differently in the last bit; from-scratch training then grows those bits into
different models (measured with ``tools/analysis/numerics_drift.py``, docs/benchmarks.md).

:data:`PINNED_KERNELS` fixes all four to what every x86-64 machine with AVX2 can run, so two
machines of the same kind (same packages, same data) run the same kernels. It does not cover
another CPU architecture (ARM) or another torch build. The demo and the distillation study run
their training subprocesses with it; a variable the user set already wins.
"""

from __future__ import annotations

import os
from typing import Dict, Mapping, Optional

PINNED_KERNELS: Dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen's vectorised kernels (default: the CPU's best, e.g. avx512)
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN convolutions / matmuls
    "MKL_CBWR": "AVX2",  # MKL's conditional numerical reproducibility: one code path on any CPU
    "OMP_NUM_THREADS": "2",  # reductions split by thread count; 2 = the project's reference machine
}


def pinned_env(base: Optional[Mapping[str, str]] = None, **extra: str) -> Dict[str, str]:
    """Environment for a training subprocess: :data:`PINNED_KERNELS` and ``extra`` under ``base``.

    Args:
        base: the environment to extend (default ``os.environ``); its values win, so a user who
            exports e.g. ``OMP_NUM_THREADS=8`` gets 8 threads (and gives up cross-machine equality).
        **extra: further defaults, e.g. ``OMP_WAIT_POLICY="PASSIVE"``.

    Example:
        >>> env = pinned_env({"PATH": "/usr/bin"})
        >>> env["ATEN_CPU_CAPABILITY"], env["PATH"]
        ('avx2', '/usr/bin')
    """
    return {**PINNED_KERNELS, **extra, **(os.environ if base is None else base)}


def read_train_scalars(work_dir: str) -> list:
    """Per-iteration training scalars (``loss``, ``grad_norm``, ...) of an MMEngine run, in order.

    Reads ``WORK_DIR/<timestamp>/vis_data/scalars.json`` of the newest run in ``work_dir``.
    """
    import glob
    import json

    files = sorted(glob.glob(os.path.join(work_dir, "*", "vis_data", "scalars.json")))
    if not files:
        raise FileNotFoundError(f"no vis_data/scalars.json under {work_dir}")
    with open(files[-1]) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if "loss" in r]


def first_divergence(a: list, b: list, keys: tuple = ("loss", "grad_norm")) -> Optional[int]:
    """The first ``step`` at which two runs' logged ``keys`` differ in any bit, or ``None``."""
    for ra, rb in zip(a, b):
        if any(ra.get(k) != rb.get(k) for k in keys):
            return int(ra["step"])
    return None
