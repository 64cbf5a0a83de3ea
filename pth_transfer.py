"""Convert a DWPose distiller checkpoint into a plain RTMPose checkpoint.

Usage: python pth_transfer.py DIS_CKPT OUT_CKPT [--two_dis] [--trust-checkpoint] [--format safetensors]
(the stage is detected from the checkpoint; see dwpose/distiller/transfer.py).
"""

import sys

from dwpose.distiller.transfer import main

if __name__ == "__main__":
    sys.exit(main())
