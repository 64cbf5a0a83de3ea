"""Train a pose model or a distiller from a config (single process, torchrun or slurm).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options k=v ...]
        [--trust-checkpoint]
    bash tools/dist_train.sh CONFIG GPUS [same options]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dwpose.engine.launch import DictAction, add_trust_argument, main_entry  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="tools/train.py", description=__doc__.splitlines()[0])
    p.add_argument("config", help="config file")
    p.add_argument("--work-dir", help="where logs and checkpoints go (default work_dirs/<config>)")
    p.add_argument("--resume", nargs="?", const="auto", default=None, metavar="CKPT",
                   help="resume from CKPT, or from the newest readable checkpoint in the work dir")
    p.add_argument("--amp", action="store_true", help="mixed-precision training (CUDA only)")
    p.add_argument("--cfg-options", nargs="+", action=DictAction, metavar="KEY=VALUE",
                   help="override config entries, e.g. train_cfg.max_epochs=10 data_root=/data/")
    p.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    p.add_argument("--local_rank", "--local-rank", type=int, default=0)
    add_trust_argument(p)
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main_entry("train", None, parse_args))
