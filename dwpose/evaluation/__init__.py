"""dwpose.evaluation: COCO-WholeBody AP/AR tables.

- ``wholebody``: the scoring core (xtcocotools + numpy; no torch, no mm*), per part and per scene;
- ``metric``: ``WholeBodyTableMetric``, registered in mmpose's METRICS (imported by ``dwpose.plugin``);
- ``report``: the README table, ``save_report`` and ``print_and_save`` (standard library only);
- ``cli``: ``dwpose eval GT_JSON RESULTS_JSON [--json] [--per-scene]``.

Nothing is imported here, so ``import dwpose.evaluation`` stays light.
"""
