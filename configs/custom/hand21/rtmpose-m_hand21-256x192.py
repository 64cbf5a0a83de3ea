# RTMPose-m on the custom keypoint set of _base_/dataset.py (the teacher of the walk-through).
_base_ = ['./_base_/recipe.py']

model = dict(backbone=dict(deepen_factor=0.67, widen_factor=0.75), head=dict(in_channels=768))
