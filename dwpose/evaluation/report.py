"""The DWPose README table (Body / Foot / Face / Hand / Whole, AP and AR) from metrics, printed and saved.

Light on purpose (standard library and numpy only), so ``tools/test.py`` and inference users can import it.

Example::

    metrics = runner.test()            # {'coco-wholebody/body/AP': 0.70, ...}
    print_and_save(metrics, work_dir)  # prints the table, writes <work_dir>/<name>_wholebody_table.md/.json
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any, Dict, Optional

from dwpose.fileio import atomic_write_text
from dwpose.keypoints import REPORTED_PARTS

PartScores = Dict[str, Dict[str, float]]  # part -> {"AP": x, "AR": y, ...}

# (column title, part) in the order of the DWPose README.
COLUMNS: tuple = (
    ("Body", "body"),
    ("Foot", "foot"),
    ("Face", "face"),
    ("Hand", "hand"),
    ("Whole", "wholebody"),
)
OVERALL_ROW = "all"
PCKH_PREFIX = "mpii/"  # MpiiPCKhTableMetric's keys


def format_table(results: Mapping[str, Any], first_column: str = "Model") -> str:
    """A Markdown table with the DWPose README columns, one row per model / scene.

    Args:
        results: ``{row name: {part: {"AP": x, "AR": y}}}``; a single ``{part: {...}}`` is one row
            named ``all``. Missing numbers print as ``-``, undefined ones (COCO's -1) as ``n/a``.
        first_column: title of the row-name column.

    Returns:
        The table, lines joined by ``\\n`` (no trailing newline).
    """
    rows = {OVERALL_ROW: results} if _is_part_scores(results) else results
    header = [first_column] + [f"{title} {stat}" for title, _ in COLUMNS for stat in ("AP", "AR")]
    lines = ["| " + " | ".join(header) + " |", "| :-- |" + " :-: |" * (len(header) - 1)]
    for name, scores in rows.items():
        cells = [str(name)] + [
            _format_value((scores.get(part) or {}).get(stat)) for _, part in COLUMNS for stat in ("AP", "AR")
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _is_part_scores(results: Mapping[str, Any]) -> bool:
    return any(key in REPORTED_PARTS for key in results)


def _format_value(value: Optional[float]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return "n/a" if value < 0 else f"{value:.3f}"


def metrics_to_rows(metrics: Mapping[str, Any]) -> Dict[str, PartScores]:
    """Collect ``<prefix>/<part>/AP|AR`` and ``<prefix>/scene/<scene>/<part>/AP|AR`` keys into rows.

    Args:
        metrics: flat metrics as returned by ``runner.test()`` / ``WholeBodyTableMetric``.

    Returns:
        ``{"all": {part: {"AP": x, "AR": y}}, "<scene>": {...}, ...}``. With metrics of plain
        ``CocoWholeBodyMetric`` (only ``coco-wholebody/AP``, ``.../AR``) the ``all`` row holds
        ``wholebody`` alone; with no whole-body key at all the result is empty.
    """
    rows: Dict[str, PartScores] = {}
    for key, value in metrics.items():
        parts = key.split("/")
        if len(parts) < 2 or parts[-1] not in ("AP", "AR") or parts[-2] not in REPORTED_PARTS:
            continue
        row = parts[-3] if len(parts) >= 4 and parts[-4] == "scene" else OVERALL_ROW
        rows.setdefault(row, {}).setdefault(parts[-2], {})[parts[-1]] = float(value)
    if not rows:
        plain = {stat: metrics.get(f"coco-wholebody/{stat}") for stat in ("AP", "AR")}
        if all(v is not None for v in plain.values()):
            rows[OVERALL_ROW] = {"wholebody": {k: float(v) for k, v in plain.items()}}
    if OVERALL_ROW in rows:  # overall first, then scenes sorted by name
        rows = {OVERALL_ROW: rows.pop(OVERALL_ROW), **dict(sorted(rows.items()))}
    return rows


def save_report(metrics: Mapping[str, Any], work_dir: str, name: str) -> str:
    """Write ``<work_dir>/<name>_wholebody_table.md`` and ``.json`` (each atomically); return the table.

    The overall row is labelled ``name``; scene rows keep their scene names. The JSON holds
    ``{"name", "rows": {row: {part: {"AP", "AR"}}}, "metrics": {every numeric metric}}``.
    """
    rows = metrics_to_rows(metrics)
    if OVERALL_ROW in rows:
        rows = {name if row == OVERALL_ROW else row: scores for row, scores in rows.items()}
    table = format_table(rows, first_column="Model / scene" if len(rows) > 1 else "Model")
    os.makedirs(work_dir, exist_ok=True)
    base = os.path.join(work_dir, f"{name}_wholebody_table")
    atomic_write_text(base + ".md", f"# {name}: COCO-WholeBody AP / AR\n\n{table}\n")
    payload = {"name": name, "rows": rows, "metrics": _numeric(metrics)}
    atomic_write_text(base + ".json", json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return table


def print_and_save(metrics: Mapping[str, Any], work_dir: str) -> None:
    """Print the table (overall row, then one per scene when present) and save it with :func:`save_report`.

    The report is named after the last folder of ``work_dir`` (mmengine's default work dir is
    ``work_dirs/<config name>``). Metrics without any whole-body key print a note and save nothing.
    """
    if any(key.startswith(PCKH_PREFIX) for key in metrics):
        _print_and_save_pckh(metrics, work_dir)
        return
    if not metrics_to_rows(metrics):
        print("no COCO-WholeBody AP/AR in the metrics; no table written")
        return
    name = os.path.basename(os.path.normpath(work_dir)) or "test"
    table = save_report(metrics, work_dir, name)
    print(table)
    print(f"saved {os.path.join(work_dir, name)}_wholebody_table.md and .json")


def _print_and_save_pckh(metrics: Mapping[str, Any], work_dir: str) -> None:
    """MPII's PCKh table (``mpii/*`` keys of ``MpiiPCKhTableMetric``), printed and saved as
    ``<work_dir>/<name>_pckh_table.md`` and ``.json``."""
    from dwpose.evaluation.pckh import format_pckh_table

    name = os.path.basename(os.path.normpath(work_dir)) or "test"
    scores = {k.removeprefix(PCKH_PREFIX): float(v) for k, v in _numeric(metrics).items()
              if k.startswith(PCKH_PREFIX)}
    table = format_pckh_table({name: scores})
    os.makedirs(work_dir, exist_ok=True)
    base = os.path.join(work_dir, f"{name}_pckh_table")
    atomic_write_text(base + ".md", f"# {name}: MPII PCKh@0.5\n\n{table}\n")
    atomic_write_text(base + ".json", json.dumps({"name": name, "pckh": scores}, indent=2) + "\n")
    print(table)
    print(f"saved {base}.md and .json")


def _numeric(metrics: Mapping[str, Any]) -> Dict[str, float]:
    out = {}
    for key, value in metrics.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            continue
    return out
