# Demo student: a tiny CSPNeXt (deepen 0.167, widen 0.25; RTMPose-t is widen 0.375) at 128x96.
_base_ = ['../_base_/rtmpose_demo_128x96.py']

model = dict(
    backbone=dict(deepen_factor=0.167, widen_factor=0.25),
    head=dict(in_channels=256))
