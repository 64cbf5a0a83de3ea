# A cross-family student at 64x48: ResNet-18 cut after its third stage (1/16) + mmpose's SimCCHead.
# Its last map is 256 x 4 x 3 against the demo teacher's (CSPNeXt, 1/32) 384 x 2 x 2: channels and
# size differ, so the feature loss resizes as well as aligns.
_base_ = ['./tiny_teacher.py']

model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=18, num_stages=3, out_indices=(2, ),
                  strides=(1, 2, 2), dilations=(1, 1, 1),
                  norm_cfg=dict(type='SyncBN'), init_cfg=None),
    head=dict(_delete_=True, type='SimCCHead', in_channels=256, out_channels=133,
              input_size={{_base_.input_size}}, in_featuremap_size=(3, 4), simcc_split_ratio=2.0,
              deconv_out_channels=None,
              loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10., label_softmax=True),
              decoder={{_base_.codec}}))
