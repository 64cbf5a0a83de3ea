"""The committed study's paired gains, shipped with the demo configs, and the demo's rows read against them.

One demo run cannot say whether distillation paid off: its rows move with the seed and the CPU
kernels by about as much as the effect. ``dwpose demo`` therefore prints, next to each distilled
row, the gain the distillation study measured over many seeds (paired against the plain student,
with its 95 % interval). The numbers live in ``configs/demo/study/paired_gains.json``, written from
the committed ``study.json`` by :func:`gains_from_study` (a test keeps the two equal).

Example:
    >>> g = {"s1_full": {"baseline": "plain", "n": 5, "mean": 0.05, "ci": [0.01, 0.09]}}
    >>> print(format_against_study({"plain": 0.25, "s1_full": 0.31}, g, {"s1_full": "stage 1"}))
    | Distilled row | this run: gain over plain | study: paired gain [95 % CI] (seeds) | inside |
    | :-- | :-: | :-: | :-: |
    | stage 1 | +0.060 | +0.050 [+0.010, +0.090] (5) | yes |
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence

GAIN_VARIANTS: Sequence[str] = ("s1_full", "dwpose")  # the rows the demo trains, each against plain
BASELINE = "plain"


def gains_from_study(study: Mapping[str, Any], part: str = "wholebody") -> Dict[str, Dict[str, Any]]:
    """``{variant: {baseline, n, mean, ci}}`` of the study's paired differences against plain."""
    out: Dict[str, Dict[str, Any]] = {}
    for d in study.get("paired", []):
        if d["variant"] in GAIN_VARIANTS and d["baseline"] == BASELINE:
            out[d["variant"]] = {"baseline": BASELINE, "n": d["n"], "mean": d["mean"][part],
                                 "ci": d["ci"][part]}
    return out


def _cell(gain: Optional[Mapping[str, Any]]) -> str:
    if not gain or gain["mean"] is None:
        return "not measured"
    ci = "" if gain["ci"] is None else f" [{gain['ci'][0]:+.3f}, {gain['ci'][1]:+.3f}]"
    return f"{gain['mean']:+.3f}{ci} ({gain['n']})"


def format_against_study(whole_ap: Mapping[str, Optional[float]], gains: Mapping[str, Mapping[str, Any]],
                         labels: Mapping[str, str]) -> str:
    """Markdown: each distilled row's gain over this run's plain student next to the study's.

    Args:
        whole_ap: Whole AP of this run's models, keyed ``plain`` and the variant names.
        gains: :func:`gains_from_study` output.
        labels: row label per variant (the demo's table names).
    """
    lines = ["| Distilled row | this run: gain over plain | study: paired gain [95 % CI] (seeds) | inside |",
             "| :-- | :-: | :-: | :-: |"]
    plain = whole_ap.get(BASELINE)
    for variant, label in labels.items():
        ours = whole_ap.get(variant)
        diff = None if ours is None or plain is None else ours - plain
        gain = gains.get(variant)
        inside = "-"
        if diff is not None and gain and gain.get("ci"):
            inside = "yes" if gain["ci"][0] <= diff <= gain["ci"][1] else "no"
        lines.append(f"| {label} | {'n/a' if diff is None else f'{diff:+.3f}'} | {_cell(gain)} | {inside} |")
    return "\n".join(lines)


def reference_file(study: Mapping[str, Any]) -> Dict[str, Any]:
    """The content of ``configs/demo/study/paired_gains.json`` for a finished ``study.json`` dict.

    Regenerate after the committed study changes::

        python -c "import json, dwpose.study.reference as r; print(json.dumps(r.reference_file(
            json.load(open('docs/study_pretrained/seeds15/study.json'))), indent=2))" \
            > configs/demo/study/paired_gains.json
    """
    m = study["machine"]
    kernels = "pinned kernels" if not study["settings"].get("kernels") else "native kernels"
    machine = f"{m['cpu_count']}-core {m.get('cpu') or m['system']}, {kernels}"
    return {"command": study["command"], "machine": machine, "gains": gains_from_study(study)}
