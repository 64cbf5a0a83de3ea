# A cross-family student at 64x48: ShuffleNetV2 (x0.5) + mmpose's SimCCHead, the demo codec.
# Its last map is 1024 x 2 x 2 against the demo teacher's (CSPNeXt) 384 x 2 x 2.
_base_ = ['./tiny_teacher.py']

model = dict(
    backbone=dict(_delete_=True, type='ShuffleNetV2', widen_factor=0.5, out_indices=(3, ),
                  norm_cfg=dict(type='SyncBN'), init_cfg=None),
    head=dict(_delete_=True, type='SimCCHead', in_channels=1024, out_channels=133,
              input_size={{_base_.input_size}}, in_featuremap_size=(2, 2), simcc_split_ratio=2.0,
              deconv_out_channels=None,
              loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10., label_softmax=True),
              decoder={{_base_.codec}}))
