"""Study report helpers."""

from __future__ import annotations


def test_seed_ranges_shorten_runs_of_consecutive_seeds():
    from dwpose.study.report import seed_ranges

    assert seed_ranges([5, 0, 1, 2, 7, 8]) == "0-2, 5, 7-8"
    assert seed_ranges([3]) == "3"
    assert seed_ranges(range(200, 215)) == "200-214"
    assert seed_ranges([1, 3]) == "1, 3"
