"""Train a pose model or a distiller from a config (single process, torchrun or slurm).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options k=v ...]
        [--trust-checkpoint]
    bash tools/dist_train.sh CONFIG GPUS [same options]

The logic is :mod:`dwpose.engine.train` (also ``python -m dwpose.engine.train``).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dwpose.engine import train as _train  # noqa: E402

PROG = "tools/train.py"


def main(argv=None) -> int:
    return _train.main(argv, PROG)


if __name__ == "__main__":
    sys.exit(main())
