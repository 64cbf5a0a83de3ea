# RTMPose-l (student) on COCO-WholeBody, 256x192: the DWPose recipe of
# ../../../_base_/rtmpose_coco-wholebody_256x192.py with CSPNeXt-l (deepen 1.0, widen 1.0).
_base_ = ['../../../_base_/rtmpose_coco-wholebody_256x192.py']

model = dict(
    backbone=dict(deepen_factor=1.0, widen_factor=1.0),
    head=dict(in_channels=1024))
