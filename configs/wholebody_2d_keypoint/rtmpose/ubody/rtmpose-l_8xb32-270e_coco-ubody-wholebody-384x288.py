# RTMPose-l on COCO-WholeBody + UBody, 384x288 (batch 32 per GPU): the recipe of
# ../../../_base_/rtmpose_coco-ubody-wholebody_384x288.py with CSPNeXt-l (deepen 1.0, widen 1.0).
_base_ = ['../../../_base_/rtmpose_coco-ubody-wholebody_384x288.py']

model = dict(
    backbone=dict(deepen_factor=1.0, widen_factor=1.0),
    head=dict(in_channels=1024))
