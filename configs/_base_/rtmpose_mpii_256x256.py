# The DWPose recipe on MPII: 16 keypoints, 256x256 input (codec of mmpose's RTMPose MPII config),
# PCKh@0.5 per joint and mean (MpiiPCKhTableMetric, MPII's head boxes in mpii_gt_val.mat).
# Model: a SimCC-ResNet-50 (no deconv, as mmpose's simcc_res50_wo-deconv MPII config); students
# replace the backbone and keep this codec.
_base_ = ['./rtmpose_coco-ubody-wholebody_256x192.py']

num_keypoints = 16
input_size = (256, 256)  # (w, h)
codec = dict(type='SimCCLabel', input_size=input_size, sigma=(5.66, 5.66), simcc_split_ratio=2.0,
             normalize=False, use_dark=False)
model = dict(
    data_preprocessor=dict(codec=codec),
    backbone=dict(_delete_=True, type='ResNet', depth=50, init_cfg=None),
    head=dict(_delete_=True, type='SimCCHead', in_channels=2048, out_channels=num_keypoints,
              input_size=input_size, in_featuremap_size=(8, 8), simcc_split_ratio=2.0,
              deconv_out_channels=None,
              loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10., label_softmax=True),
              decoder=codec),
    test_cfg=dict(flip_test=True, shift_coords=True))

data_root = 'data/mpii/'
# the recipe's pipelines with their crop step (the sixth of the training pipelines, the third of the
# validation one) at this size
train_pipeline = [*_base_.train_pipeline[:5],
                  dict(type=_base_.topdown_affine, input_size=input_size),
                  *_base_.train_pipeline[6:]]
train_pipeline_stage2 = [*_base_.train_pipeline_stage2[:5],
                         dict(type=_base_.topdown_affine, input_size=input_size),
                         *_base_.train_pipeline_stage2[6:]]
val_pipeline = [*_base_.val_pipeline[:2],
                dict(type='TopdownAffine', input_size=input_size),
                *_base_.val_pipeline[3:]]
train_dataloader = dict(dataset=dict(
    _delete_=True, type='MpiiDataset', data_root=data_root, data_mode='topdown',
    ann_file='annotations/mpii_train.json', data_prefix=dict(img='images/'),
    pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    _delete_=True, type='MpiiDataset', data_root=data_root, data_mode='topdown',
    ann_file='annotations/mpii_val.json', headbox_file=f'{data_root}annotations/mpii_gt_val.mat',
    data_prefix=dict(img='images/'), test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='MpiiPCKhTableMetric')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='mpii/Mean'))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True,
         priority=49),
    dict(type='mmdet.PipelineSwitchHook', switch_epoch=240, switch_pipeline=train_pipeline_stage2),
]
