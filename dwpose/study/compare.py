"""Two studies of the same runs under different settings (e.g. pinned vs native CPU kernels), side by side.

For the seeds both studies ran, :func:`compare` gives each setting's paired difference (variant -
baseline, 95 % t interval) and how far each run's AP moved between the settings, so that one can
say whether a conclusion (its sign, whether its interval excludes 0) holds under both.

Example:
    >>> a = {"variants": [{"name": "plain", "runs": [{"seed": 1, "ap": {"wholebody": 0.2}}]},
    ...                   {"name": "s1_full", "runs": [{"seed": 1, "ap": {"wholebody": 0.3}}]}]}
    >>> round(compare(a, a, "A", "B")["settings"][0]["mean"], 3)
    0.1
"""

from __future__ import annotations

import statistics
from typing import Any, Dict, List, Mapping, Optional

from dwpose.study.aggregate import PART_TITLES, paired_difference
from dwpose.study.report import signed


def _by_seed(study: Mapping[str, Any], variant: str) -> Dict[int, Dict[str, Optional[float]]]:
    for v in study["variants"]:
        if v["name"] == variant:
            return {int(r["seed"]): r["ap"] for r in v["runs"]}
    return {}


def _verdict(mean: Optional[float], ci: Optional[List[float]]) -> str:
    if mean is None:
        return "n/a"
    sign = "gain" if mean > 0 else "loss" if mean < 0 else "no difference"
    if ci is None:
        return f"{sign}, no interval (one seed)"
    excludes = ci[0] > 0 or ci[1] < 0
    return f"{sign}, interval {'excludes' if excludes else 'includes'} 0"


def compare(a: Mapping[str, Any], b: Mapping[str, Any], label_a: str, label_b: str,
            variant: str = "s1_full", baseline: str = "plain", part: str = "wholebody") -> Dict[str, Any]:
    """Paired ``variant - baseline`` under each study, on the seeds all four sets of runs share.

    Returns:
        ``{"variant", "baseline", "part", "seeds", "settings": [{label, mean, ci, verdict}] (a, b),
        "movement": {name: {seed: b - a}}, "same_conclusion": bool | None}``.
    """
    runs = {(label, name): _by_seed(study, name) for label, study in ((label_a, a), (label_b, b))
            for name in (variant, baseline)}
    seeds = sorted(set.intersection(*(set(r) for r in runs.values())))
    settings = []
    for label in (label_a, label_b):
        ours = {name: {s: runs[(label, name)][s] for s in seeds} for name in (variant, baseline)}
        d = paired_difference(ours[variant], ours[baseline], parts=(part,))
        mean, ci = d["mean"][part] if seeds else None, d["ci"][part] if seeds else None
        settings.append({"label": label, "mean": mean, "ci": ci, "verdict": _verdict(mean, ci)})
    movement = {name: {s: runs[(label_b, name)][s][part] - runs[(label_a, name)][s][part] for s in seeds}
                for name in (baseline, variant)}
    same = None if not seeds else settings[0]["verdict"] == settings[1]["verdict"]
    return {"variant": variant, "baseline": baseline, "part": part, "seeds": seeds, "settings": settings,
            "movement": movement, "same_conclusion": same}


def format_comparison(c: Mapping[str, Any]) -> str:
    """Markdown: one row per setting (paired difference and verdict), then the per-seed movement."""
    title = PART_TITLES.get(c["part"], c["part"])
    lines = [f"Paired `{c['variant']}` - `{c['baseline']}`, {title} AP, seeds "
             f"{', '.join(map(str, c['seeds'])) or 'none in common'}:", "",
             "| Setting | mean difference | 95 % CI | conclusion |", "| :-- | :-: | :-: | :-- |"]
    for s in c["settings"]:
        ci = "n/a" if s["ci"] is None else f"[{s['ci'][0]:+.3f}, {s['ci'][1]:+.3f}]"
        lines.append(f"| {s['label']} | {signed(s['mean'])} | {ci} | {s['verdict']} |")
    a, b = (s["label"] for s in c["settings"])
    lines += ["", f"{title} AP moved by ({b}) - ({a}), run by run:", "",
              "| Variant | " + " | ".join(f"seed {s}" for s in c["seeds"]) + " | mean abs |",
              "| :-- |" + " :-: |" * (len(c["seeds"]) + 1)]
    for name, moves in c["movement"].items():
        values = [moves[s] for s in c["seeds"]]
        mean_abs = statistics.fmean(abs(v) for v in values) if values else None
        lines.append(f"| `{name}` | " + " | ".join(signed(v) for v in values)
                     + f" | {'n/a' if mean_abs is None else f'{mean_abs:.3f}'} |")
    verdict = {True: "the same conclusion under both settings",
               False: "the conclusion differs between the settings", None: "nothing to compare"}
    lines += ["", f"Result: {verdict[c['same_conclusion']]}."]
    return "\n".join(lines) + "\n"
