"""Does a study's conclusion hold with other CPU kernels? Compare two study work dirs seed by seed.

    python tools/analysis/kernel_robustness.py work_dirs/study_pt work_dirs/study_pt_native \
        --labels "pinned AVX2 kernels" "native kernels" --out docs/study_pretrained/kernels.md

Reads each work dir's ``study.json`` (written by ``tools/analysis/distill_study.py``), takes the seeds
both ran for the variant and its baseline, and writes the paired difference under each setting with
its 95 % interval and how far every run moved between them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _bench  # noqa: F401  (puts this checkout first on sys.path)


def main() -> int:
    from dwpose.errors import UserError, guarded
    from dwpose.fileio import atomic_write_text
    from dwpose.study.compare import compare, format_comparison

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("first", type=Path, help="work dir of the reference study (e.g. pinned kernels)")
    p.add_argument("second", type=Path, help="work dir of the same runs under the other setting")
    p.add_argument("--labels", nargs=2, default=["pinned kernels", "native kernels"], metavar=("A", "B"))
    p.add_argument("--variant", default="s1_full")
    p.add_argument("--baseline", default="plain")
    p.add_argument("--out", type=Path, help="also write the markdown here")
    args = p.parse_args()

    def run() -> int:
        studies = []
        for folder in (args.first, args.second):
            path = folder / "study.json"
            if not path.is_file():
                raise UserError(f"{path} does not exist (run tools/analysis/distill_study.py there first)")
            studies.append(json.loads(path.read_text()))
        c = compare(*studies, *args.labels, variant=args.variant, baseline=args.baseline)
        text = format_comparison(c)
        print(text, end="")
        if args.out:
            atomic_write_text(args.out, text)
        return 0

    return guarded(run, prog="kernel_robustness.py")


if __name__ == "__main__":
    sys.exit(main())
