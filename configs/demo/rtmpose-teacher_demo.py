# Demo teacher: RTMPose-s-sized CSPNeXt (deepen 0.33, widen 0.5) at 128x96, trained longer.
_base_ = ['../_base_/rtmpose_demo_128x96.py']

model = dict(
    backbone=dict(deepen_factor=0.33, widen_factor=0.5),
    head=dict(in_channels=512))
