"""``study.md`` and ``study.png``, both drawn from the ``study.json`` dict alone.

The JSON (built by :mod:`dwpose.study.cli`) holds ``study``, ``command``, ``machine``, ``finished``,
``settings`` (config set, data, epochs, seeds, teacher seed, options common to every run),
``teacher`` (``seed``, ``ap``, ``result``) and ``variants``: a list of ``{name, label, what, n, seeds,
mean, std, runs: [{seed, ap, result, steps}]}``, ``ap``/``mean``/``std`` being ``{part: value}``.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any, Dict, List, Optional

from dwpose.study.aggregate import PART_TITLES, PARTS


def machine_description() -> Dict[str, Any]:
    """CPU model and count, kernel settings, GPU (if any) and the versions that produced the numbers.

    ``kernels`` holds the :data:`~dwpose.engine.numerics.PINNED_KERNELS` variables as the training
    subprocesses see them (pinned unless the user exported other values, e.g. native kernels).
    """
    import os

    from dwpose.engine.numerics import PINNED_KERNELS, pinned_env

    info: Dict[str, Any] = {"system": f"{platform.system()} {platform.machine()}",
                            "cpu_count": os.cpu_count(), "cpu": platform.processor() or None,
                            "python": platform.python_version()}
    env = pinned_env()
    info["kernels"] = {name: env[name] for name in PINNED_KERNELS}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                               info["cpu"])
    except OSError:
        pass
    try:
        import mmengine
        import mmpose
        import torch

        info.update(torch=torch.__version__, mmengine=mmengine.__version__, mmpose=mmpose.__version__,
                    gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    except ImportError:
        pass
    return info


def _cell(mean: Optional[float], std: Optional[float]) -> str:
    if mean is None:
        return "n/a"
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"


def format_table(study: Dict[str, Any]) -> str:
    """The main table: one row per variant (teacher first), ``mean ± std`` AP per part."""
    header = ["Variant", "Seeds"] + [f"{PART_TITLES[p]} AP" for p in PARTS]
    lines = ["| " + " | ".join(header) + " |", "| :-- |" + " :-: |" * (len(header) - 1)]
    teacher = study.get("teacher")
    if teacher:
        cells = [_cell(teacher["ap"][p], None) for p in PARTS]
        lines.append(f"| teacher (one run, seed {teacher['seed']}, shared) | 1 | " + " | ".join(cells) + " |")
    for v in study["variants"]:
        cells = [_cell(v["mean"][p], v["std"][p]) for p in PARTS]
        lines.append(f"| {v['label']} | {v['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seed_ranges(seeds) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2, 5, 7-8"`` (a long seed list still fits a picture's title)."""
    groups: List[List[int]] = []
    for s in sorted(seeds):
        if groups and s == groups[-1][-1] + 1:
            groups[-1].append(s)
        else:
            groups.append([s])
    return ", ".join(f"{g[0]}-{g[-1]}" if len(g) > 1 else str(g[0]) for g in groups)


def signed(x: Optional[float]) -> str:
    """``x`` as a signed 3-decimal AP difference (``+0.012``), ``n/a`` when undefined."""
    return "n/a" if x is None else f"{x:+.3f}"


def format_paired(study: Dict[str, Any]) -> str:
    """Paired (same seed) differences: mean and 95 % t interval per part."""
    header = ["Variant - baseline", "Seeds"] + [f"{PART_TITLES[p]} AP" for p in PARTS]
    lines = ["| " + " | ".join(header) + " |", "| :-- |" + " :-: |" * (len(header) - 1)]
    for d in study.get("paired", []):
        cells = []
        for p in PARTS:
            ci = d["ci"][p]
            cells.append(signed(d["mean"][p]) + ("" if ci is None else f" [{ci[0]:+.3f}, {ci[1]:+.3f}]"))
        lines.append(f"| `{d['variant']}` - `{d['baseline']}` | {d['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _per_seed_table(study: Dict[str, Any]) -> str:
    """Whole AP of every run, and (in brackets) the epoch it left the average pose."""
    seeds = study["settings"]["seeds"]
    lines = ["| Variant | " + " | ".join(f"seed {s}" for s in seeds) + " |",
             "| :-- |" + " :-: |" * len(seeds)]
    for v in study["variants"]:
        by_seed = {r["seed"]: r for r in v["runs"]}

        def cell(s: int, by_seed: Dict[int, Any] = by_seed) -> str:
            if s not in by_seed:
                return "-"
            epoch = by_seed[s].get("breakout_epoch")
            return _cell(by_seed[s]["ap"]["wholebody"], None) + f" ({'-' if epoch is None else epoch})"

        cells = [cell(s) for s in seeds]
        lines.append(f"| {v['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _configured(study: Dict[str, Any]) -> List[str]:
    lines = []
    for v in study["variants"]:
        lines.append(f"- `{v['name']}`, {v['label']}: {v['what']}.")
        if v["runs"]:
            run = v["runs"][0]
            for step in run["steps"]:
                lines.append(f"  - {step}")
    return lines


def _settings_lines(study: Dict[str, Any]) -> List[str]:
    s, m = study["settings"], study["machine"]
    ep = s["epochs"]
    gpu = m.get("gpu") or "no GPU"
    kernels = m.get("kernels")
    kernel_text = ""
    if kernels:
        pairs = " ".join(f"`{k}={v}`" for k, v in kernels.items())
        kernel_text = f" Kernels of every training run: {pairs}."
    return [
        f"Command: `{study['command']}`",
        "",
        f"Machine: {m.get('cpu') or m['system']}, {m['cpu_count']} CPU cores, {gpu}; Python {m['python']}, "
        f"torch {m.get('torch')}, mmengine {m.get('mmengine')}, mmpose {m.get('mmpose')}. "
        f"Finished {study['finished']}.{kernel_text}",
        "",
        f"Data: {s['data']}. Epochs: teacher {ep['teacher']} (one teacher, seed {s['teacher_seed']}, shared "
        f"by every run), stage 1 and the plain student {ep['s1']}, stage 2 {ep['s2']}.",
        f"Seeds: {', '.join(map(str, s['seeds']))}, fixed before any result was seen and passed to every "
        "variant as `randomness.seed=S`.",
        f"Options common to every run (DIR: the work dir): `{' '.join(s['common_options'])}`.",
    ]


def _missing_lines(study: Dict[str, Any]) -> List[str]:
    missing = study.get("missing") or []
    if not missing:
        return []
    runs = ", ".join(f"{m['variant']} seed {m['seed']}" for m in missing)
    return [f"**Incomplete study**: {len(missing)} planned runs have not finished and are not in any "
            f"figure above or below: {runs}. Rerunning the command without `--report-only` trains them.", ""]


def format_markdown(study: Dict[str, Any]) -> str:
    """The whole ``study.md``."""
    lines = [f"# Distillation study: {study['study']}", ""]
    lines += _settings_lines(study)
    lines += ["", "AP on the validation split, mean ± sample standard deviation (n - 1) over seeds "
              "(a single seed shows no ±); every seed of every variant is included.", "",
              format_table(study), "", *_missing_lines(study),
              "## Paired differences", "",
              "Mean over the seeds both variants ran of (variant - baseline) AP, same seed, with its 95 % "
              "t-based confidence interval in brackets (n - 1 degrees of freedom):", "",
              format_paired(study), "",
              "## Whole AP per seed", "",
              "In brackets: the break-out epoch, the first epoch whose logged ground-truth loss (`loss_kpt`) "
              "fell below 0.42, i.e. the run left the average pose ('-': never; for a two-stage variant, "
              "its stage-1 run).", "", _per_seed_table(study), "",
              "## How each variant is configured", "",
              "Steps of the first seed (the other seeds differ only in `randomness.seed` and their "
              "`seed<S>` folders); DIR and relative paths are in the study's work dir, configs in "
              "the repository:", ""]
    lines += _configured(study)
    lines += ["", "![AP per part, mean and standard deviation over seeds](study.png)", ""]
    return "\n".join(lines)


def plot(study: Dict[str, Any], path: Path) -> None:
    """Grouped bars (parts on x, one bar per variant), std error bars and every seed as a dot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = []
    if study.get("teacher"):
        t = study["teacher"]
        rows.append((f"teacher (seed {t['seed']})", t["ap"], {p: None for p in PARTS}, [t["ap"]]))
    rows += [(v["label"], v["mean"], v["std"], [r["ap"] for r in v["runs"]]) for v in study["variants"]]
    x = np.arange(len(PARTS))
    width = 0.8 / max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(min(14.0, 6.0 + 0.25 * len(PARTS) * len(rows)), 4.8), dpi=120)
    palette = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7]  # grey is the teacher's
    for i, (label, mean, std, runs) in enumerate(rows):
        pos = x - 0.4 + width * (i + 0.5)
        heights = [mean[p] if mean[p] is not None else 0.0 for p in PARTS]
        errors = [std[p] if std[p] is not None else 0.0 for p in PARTS]
        color = "0.6" if i == 0 and study.get("teacher") else palette[i % len(palette)]
        ax.bar(pos, heights, width * 0.95, yerr=errors, capsize=2, label=label, color=color)
        for run in runs:
            ys = [run[p] if run[p] is not None else np.nan for p in PARTS]
            ax.scatter(pos, ys, s=6, color="black", zorder=3)
    ax.set_xticks(x, [f"{PART_TITLES[p]} AP" for p in PARTS])
    tops = [(m[p] or 0.0) + (s[p] or 0.0) for _, m, s, _ in rows for p in PARTS]
    tops += [r[p] or 0.0 for *_, runs in rows for r in runs for p in PARTS]
    ax.set_ylim(0.0, min(1.0, max([0.1, *tops]) * 1.1))
    ax.set_ylabel("AP")
    seeds = sorted({r["seed"] for v in study["variants"] for r in v["runs"]})
    ax.set_title(f"{study['study']}: mean ± std over seeds {seed_ranges(seeds)} (dots: single runs)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
