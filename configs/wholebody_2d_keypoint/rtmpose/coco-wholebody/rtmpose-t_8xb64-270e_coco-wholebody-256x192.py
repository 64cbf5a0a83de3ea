# RTMPose-t (student) on COCO-WholeBody, 256x192: the DWPose recipe of
# ../../../_base_/rtmpose_coco-wholebody_256x192.py with CSPNeXt-t (deepen 0.167, widen 0.375).
_base_ = ['../../../_base_/rtmpose_coco-wholebody_256x192.py']

model = dict(
    backbone=dict(deepen_factor=0.167, widen_factor=0.375),
    head=dict(in_channels=384))
