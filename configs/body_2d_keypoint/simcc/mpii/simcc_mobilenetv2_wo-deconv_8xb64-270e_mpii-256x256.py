# SimCC-MobileNetV2 without deconv on MPII (16 keypoints), 256x256: the MPII student, with the
# teacher's codec, loss and recipe (../../../_base_/rtmpose_mpii_256x256.py).
_base_ = ['../../../_base_/rtmpose_mpii_256x256.py']

model = dict(
    backbone=dict(_delete_=True, type='MobileNetV2', widen_factor=1., out_indices=(7, ),
                  norm_cfg=dict(type='SyncBN'), init_cfg=None),
    head=dict(in_channels=1280))
