# RTMPose-x (teacher) on COCO-WholeBody + UBody, 256x192: the DWPose recipe of
# ../../../_base_/rtmpose_coco-ubody-wholebody_256x192.py with CSPNeXt-x (deepen 1.33, widen 1.25).
_base_ = ['../../../_base_/rtmpose_coco-ubody-wholebody_256x192.py']

model = dict(
    backbone=dict(deepen_factor=1.33, widen_factor=1.25),
    head=dict(in_channels=1280))
