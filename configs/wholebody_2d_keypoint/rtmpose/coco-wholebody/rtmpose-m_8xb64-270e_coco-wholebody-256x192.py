# RTMPose-m (student) on COCO-WholeBody, 256x192: the DWPose recipe of
# ../../../_base_/rtmpose_coco-wholebody_256x192.py with CSPNeXt-m (deepen 0.67, widen 0.75).
_base_ = ['../../../_base_/rtmpose_coco-wholebody_256x192.py']

model = dict(
    backbone=dict(deepen_factor=0.67, widen_factor=0.75),
    head=dict(in_channels=768))
