"""Per-run AP from the tables ``tools/test.py`` writes, and mean / standard deviation over seeds.

Standard library only. ``std`` is the sample standard deviation (divisor n - 1), the spread a new
seed is expected to show; with one seed it is ``None`` (undefined), never 0.

Example:
    >>> s = summarize({0: {"wholebody": 0.1}, 1: {"wholebody": 0.3}}, parts=("wholebody",))
    >>> s["n"], round(s["mean"]["wholebody"], 3), round(s["std"]["wholebody"], 4)
    (2, 0.2, 0.1414)
"""

from __future__ import annotations

import json
import math
import re
import statistics
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from dwpose.errors import UserError

PARTS: Tuple[str, ...] = ("body", "foot", "face", "hand", "wholebody")
PART_TITLES: Dict[str, str] = {"body": "Body", "foot": "Foot", "face": "Face", "hand": "Hand",
                               "wholebody": "Whole"}


def read_ap(result: Path, row: str, parts: Sequence[str] = PARTS) -> Dict[str, Optional[float]]:
    """``{part: AP}`` of row ``row`` in a ``*_wholebody_table.json``; COCO's -1 (undefined) -> None.

    Raises:
        FileNotFoundError: ``result`` does not exist.
        UserError: the file has no such row or part.
    """
    if not result.is_file():
        raise FileNotFoundError(f"AP table {result} does not exist")
    rows = json.loads(result.read_text())["rows"]
    if row not in rows:
        raise UserError(f"{result} has no row {row!r} (rows: {sorted(rows)})")
    out: Dict[str, Optional[float]] = {}
    for part in parts:
        try:
            value = float(rows[row][part]["AP"])
        except KeyError:
            raise UserError(f"{result}: row {row!r} has no {part} AP") from None
        out[part] = value if value >= 0 and math.isfinite(value) else None
    return out


def mean_std(values: Sequence[Optional[float]]) -> Tuple[Optional[float], Optional[float]]:
    """Mean and sample standard deviation (n - 1) of ``values``.

    Returns ``(None, None)`` when there are no values or one of them is undefined (``None``), and
    ``(mean, None)`` for a single value.
    """
    if not values or any(v is None for v in values):
        return None, None
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


def summarize(per_seed: Mapping[int, Mapping[str, Optional[float]]],
              parts: Sequence[str] = PARTS) -> Dict[str, object]:
    """``{"n", "seeds", "mean": {part: x}, "std": {part: x}}`` over the seeds of one variant."""
    seeds = sorted(per_seed)
    mean: Dict[str, Optional[float]] = {}
    std: Dict[str, Optional[float]] = {}
    for part in parts:
        mean[part], std[part] = mean_std([per_seed[s][part] for s in seeds])
    return {"n": len(seeds), "seeds": seeds, "mean": mean, "std": std}


LOSS_LINE = re.compile(r"Epoch\(train\)\s+\[(\d+)\]\[\s*\d+/\d+\].*?\bloss_kpt: ([0-9.]+)")
BREAKOUT_LEVEL = 0.42  # ground-truth loss below which a demo-scale run has left the average pose


def breakout_epoch(logs: Union[Path, Sequence[Path]], level: float = BREAKOUT_LEVEL) -> Optional[int]:
    """First epoch with a logged ``loss_kpt`` below ``level`` in a run's training logs; None if never.

    A SimCC model first learns the average pose (demo data: loss about 0.45, Whole AP about 0) and
    only then starts to localise; this is the epoch it left that plateau. Give every log of a run
    that was interrupted and resumed (MMEngine writes one per start): each holds only its own epochs.
    """
    per_epoch: Dict[int, float] = {}
    for log in [logs] if isinstance(logs, Path) else logs:
        for line in log.read_text(errors="replace").splitlines():
            m = LOSS_LINE.search(line)
            if m:
                epoch = int(m.group(1))
                per_epoch[epoch] = min(per_epoch.get(epoch, math.inf), float(m.group(2)))
    return next((e for e in sorted(per_epoch) if per_epoch[e] < level), None)


def run_logs(work_dir: Path) -> List[Path]:
    """Every training log of a run folder: MMEngine's ``<timestamp>/<timestamp>.log`` of each start,
    oldest first, else the tool's ``train_output.log`` (which a resumed start overwrites)."""
    logs = sorted(p for p in work_dir.glob("*/*.log") if p.stem == p.parent.name)
    fallback = work_dir / "train_output.log"
    return logs or ([fallback] if fallback.is_file() else [])


def paired_difference(a: Mapping[int, Mapping[str, Optional[float]]],
                      b: Mapping[int, Mapping[str, Optional[float]]],
                      parts: Sequence[str] = PARTS, confidence: float = 0.95) -> Dict[str, object]:
    """Mean of ``a[s] - b[s]`` over the seeds both have, with a t-based confidence interval.

    Returns:
        ``{"seeds", "n", "mean": {part}, "ci": {part: [low, high]}, "half_width": {part}}``; with
        fewer than two common seeds ``ci`` and ``half_width`` are None.
    """
    from scipy.stats import t as student_t

    seeds = sorted(set(a) & set(b))
    mean: Dict[str, Optional[float]] = {}
    ci: Dict[str, Optional[List[float]]] = {}
    half: Dict[str, Optional[float]] = {}
    for part in parts:
        diffs = [a[s][part] - b[s][part] for s in seeds
                 if a[s][part] is not None and b[s][part] is not None]
        if len(diffs) != len(seeds) or not diffs:
            mean[part], ci[part], half[part] = None, None, None
            continue
        mean[part] = statistics.fmean(diffs)
        if len(diffs) < 2:
            ci[part], half[part] = None, None
            continue
        quantile = float(student_t.ppf(0.5 + confidence / 2, len(diffs) - 1))
        h = quantile * statistics.stdev(diffs) / math.sqrt(len(diffs))
        ci[part], half[part] = [mean[part] - h, mean[part] + h], h
    return {"seeds": seeds, "n": len(seeds), "mean": mean, "ci": ci, "half_width": half}
