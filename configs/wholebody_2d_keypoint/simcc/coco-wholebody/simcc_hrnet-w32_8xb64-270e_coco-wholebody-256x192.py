# SimCC-HRNet-w32 (SimDR: HRNet-w32's 32 x 64 x 48 map -> 1x1 conv to 133 maps -> flattened ->
# Linear to the SimCC bins; mmpose's SimCCHead without deconv) on COCO-WholeBody, 256x192, with the
# RTMPose codec, loss and DWPose recipe (../../../_base_/rtmpose_coco-wholebody_256x192.py).
_base_ = ['../../../_base_/rtmpose_coco-wholebody_256x192.py']

model = dict(
    backbone=dict(
        _delete_=True, type='HRNet', in_channels=3, norm_cfg=dict(type='SyncBN'), init_cfg=None,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ),
                        num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                        num_channels=(32, 64)),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                        num_channels=(32, 64, 128)),
            stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                        num_channels=(32, 64, 128, 256)))),
    head=dict(_delete_=True, type='SimCCHead', in_channels=32, out_channels=133,
              input_size=_base_.input_size, in_featuremap_size=(48, 64), simcc_split_ratio=2.0,
              deconv_out_channels=None,
              loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10., label_softmax=True),
              decoder=_base_.codec))
