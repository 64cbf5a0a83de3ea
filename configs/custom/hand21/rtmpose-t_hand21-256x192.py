# RTMPose-t on the custom keypoint set of _base_/dataset.py (the student of the walk-through).
_base_ = ['./_base_/recipe.py']

model = dict(backbone=dict(deepen_factor=0.167, widen_factor=0.375), head=dict(in_channels=384))
