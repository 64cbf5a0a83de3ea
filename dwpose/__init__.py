"""DWPose: whole-body pose estimation with two-stage distillation, on MMPose."""

__version__ = "0.1.0"
