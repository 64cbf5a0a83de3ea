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
import statistics
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Tuple

PARTS: Tuple[str, ...] = ("body", "foot", "face", "hand", "wholebody")
PART_TITLES: Dict[str, str] = {"body": "Body", "foot": "Foot", "face": "Face", "hand": "Hand",
                               "wholebody": "Whole"}


def read_ap(result: Path, row: str, parts: Sequence[str] = PARTS) -> Dict[str, Optional[float]]:
    """``{part: AP}`` of row ``row`` in a ``*_wholebody_table.json``; COCO's -1 (undefined) -> None.

    Raises:
        FileNotFoundError: ``result`` does not exist.
        ValueError: the file has no such row or part.
    """
    if not result.is_file():
        raise FileNotFoundError(f"AP table {result} does not exist")
    rows = json.loads(result.read_text())["rows"]
    if row not in rows:
        raise ValueError(f"{result} has no row {row!r} (rows: {sorted(rows)})")
    out: Dict[str, Optional[float]] = {}
    for part in parts:
        try:
            value = float(rows[row][part]["AP"])
        except KeyError:
            raise ValueError(f"{result}: row {row!r} has no {part} AP") from None
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
