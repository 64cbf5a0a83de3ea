"""The demo's reference gains are the committed study's, and the demo reads its rows against them."""

from __future__ import annotations

import json
from pathlib import Path

from dwpose.study.reference import format_against_study, reference_file

REPO = Path(__file__).resolve().parents[2]
COMMITTED_STUDY = REPO / "docs" / "study_pretrained" / "seeds15" / "study.json"
SHIPPED = REPO / "configs" / "demo" / "study" / "paired_gains.json"


def test_shipped_gains_equal_the_committed_study():
    study = json.loads(COMMITTED_STUDY.read_text())
    shipped = json.loads(SHIPPED.read_text())
    assert shipped == reference_file(study)
    assert shipped["command"] == study["command"]
    by_pair = {(d["variant"], d["baseline"]): d for d in study["paired"]}
    for variant, gain in shipped["gains"].items():  # the fields the demo prints, read by hand
        d = by_pair[(variant, "plain")]
        assert gain["n"] == len(d["seeds"]) and gain["mean"] == d["mean"]["wholebody"]


def test_rows_read_against_the_interval():
    gains = {"s1_full": {"baseline": "plain", "n": 5, "mean": 0.05, "ci": [0.01, 0.09]},
             "dwpose": {"baseline": "plain", "n": 1, "mean": 0.02, "ci": None}}
    text = format_against_study({"plain": 0.20, "s1_full": 0.30, "dwpose": 0.215},
                                gains, {"s1_full": "after stage 1", "dwpose": "after stage 2"})
    rows = text.splitlines()[2:]
    assert rows[0] == "| after stage 1 | +0.100 | +0.050 [+0.010, +0.090] (5) | no |"
    assert rows[1] == "| after stage 2 | +0.015 | +0.020 (1) | - |"
    missing = format_against_study({"plain": None, "s1_full": 0.3}, {}, {"s1_full": "s1"})
    assert missing.splitlines()[2] == "| s1 | n/a | not measured | - |"
