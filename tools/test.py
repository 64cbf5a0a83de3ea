"""Evaluate a pose checkpoint and print the whole-body AP/AR table (also saved to the work dir).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...] [--trust-checkpoint]
    bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [same options]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dwpose.engine.launch import DictAction, add_trust_argument, main_entry  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="tools/test.py", description=__doc__.splitlines()[0])
    p.add_argument("config", help="config file")
    p.add_argument("checkpoint", help="pose checkpoint (a distiller checkpoint: run pth_transfer.py first)")
    p.add_argument("--work-dir", help="where logs and the AP/AR tables go (default work_dirs/<config>)")
    p.add_argument("--cfg-options", nargs="+", action=DictAction, metavar="KEY=VALUE",
                   help="override config entries, e.g. data_root=/data/")
    p.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    p.add_argument("--local_rank", "--local-rank", type=int, default=0)
    add_trust_argument(p)
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main_entry("test", None, parse_args))
