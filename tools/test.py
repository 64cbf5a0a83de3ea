"""Evaluate a pose checkpoint and print the whole-body AP/AR table (also saved to the work dir).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...] [--trust-checkpoint]
    bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [same options]

The logic is :mod:`dwpose.engine.test` (also ``python -m dwpose.engine.test``).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dwpose.engine import test as _test  # noqa: E402

PROG = "tools/test.py"


def main(argv=None) -> int:
    return _test.main(argv, PROG)


if __name__ == "__main__":
    sys.exit(main())
