"""The distillation study: a fixed grid of variants x seeds, trained and scored the same way.

``python tools/analysis/distill_study.py CONFIG_SET --work-dir DIR`` trains one teacher (fixed seed,
shared), then every variant (plain student, stage-1 ablations, the two-stage recipe, the same recipe
through mmpose's own ``DWPoseDistiller``) for every seed, scores each result with ``tools/test.py``
and writes ``study.md``, ``study.json`` and ``study.png`` (AP per part, mean and standard deviation
over seeds).

- :mod:`dwpose.study.config_set`  what a study trains on (the built-in ``demo`` set or a file)
- :mod:`dwpose.study.plan`        the variants, and the steps (train / transfer / evaluate) of each run
- :mod:`dwpose.study.mmpose_ref`  the reference row: mmpose's converter, its frozen schedule
- :mod:`dwpose.study.execute`     runs the plan (finished steps skipped), one line per run
- :mod:`dwpose.study.aggregate`   mean / std over seeds
- :mod:`dwpose.study.report`      the Markdown table, the JSON and the bar chart
- :mod:`dwpose.study.cli`         the command line
"""
