# SimCC-ResNet-50 (mmpose's SimCCHead with its three deconv layers on ResNet-50's 2048 x 8 x 6 map,
# as mmpose's simcc_res50 COCO config) on body-only COCO, 256x192, with the RTMPose-l teacher's
# codec, loss and recipe (../../../_base_/rtmpose_coco_256x192.py).
_base_ = ['../../../_base_/rtmpose_coco_256x192.py']

model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=50, norm_cfg=dict(type='SyncBN'), init_cfg=None),
    head=dict(_delete_=True, type='SimCCHead', in_channels=2048, out_channels=17,
              input_size=_base_.input_size, in_featuremap_size=(6, 8), simcc_split_ratio=2.0,
              loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10., label_softmax=True),
              decoder=_base_.codec))
