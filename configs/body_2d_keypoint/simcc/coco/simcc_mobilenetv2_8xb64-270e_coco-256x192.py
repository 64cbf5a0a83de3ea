# SimCC-MobileNetV2 (mmpose's SimCCHead without deconv on MobileNetV2's 1280 x 8 x 6 map) on
# body-only COCO, 256x192, with the RTMPose-l teacher's codec, loss and recipe
# (../../../_base_/rtmpose_coco_256x192.py).
_base_ = ['../../../_base_/rtmpose_coco_256x192.py']

model = dict(
    backbone=dict(_delete_=True, type='MobileNetV2', widen_factor=1., out_indices=(7, ),
                  norm_cfg=dict(type='SyncBN'), init_cfg=None),
    head=dict(_delete_=True, type='SimCCHead', in_channels=1280, out_channels=17,
              input_size=_base_.input_size, in_featuremap_size=(6, 8), simcc_split_ratio=2.0,
              deconv_out_channels=None,
              loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10., label_softmax=True),
              decoder=_base_.codec))
