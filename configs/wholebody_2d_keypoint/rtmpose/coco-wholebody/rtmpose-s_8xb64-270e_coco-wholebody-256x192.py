# RTMPose-s (student) on COCO-WholeBody, 256x192: the DWPose recipe of
# ../../../_base_/rtmpose_coco-wholebody_256x192.py with CSPNeXt-s (deepen 0.33, widen 0.5).
_base_ = ['../../../_base_/rtmpose_coco-wholebody_256x192.py']

model = dict(
    backbone=dict(deepen_factor=0.33, widen_factor=0.5),
    head=dict(in_channels=512))
