"""Training/evaluation runtime glue: runner, checkpoints, schedules, device adaptation.

Kept import-light: the submodules import torch/mmengine, this package file does not.
"""
