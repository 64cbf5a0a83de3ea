# The DWPose recipe in miniature: same model family, losses, optimizer, EMA, pipeline switch and
# metric as the full configs, at 128x96 input on the project's synthetic data set
# (`dwpose demo-data`), sized to train on 2 CPU cores in minutes. The augmentations are the recipe's
# transforms at milder strength (a few hundred iterations from scratch cannot absorb 80-degree
# rotations and a dropout hole on every sample).
_base_ = ['./default_runtime.py']

max_epochs = 25
# AdamW at 1e-3: the full recipe's 4e-3 is for batch 256-1024; at batch 16 from scratch it (and
# 2e-3) leaves the model stuck predicting an average pose (loss ~0.45, body AP ~0.14 after 25 epochs)
base_lr = 1e-3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
randomness = dict(seed=21)
schedule = dict(warmup_iters=20, cosine_from=0.5, eta_min_factor=0.05, pipeline_switch_at=8 / 9)
optim_wrapper = dict(
    type='OptimWrapper',
    # foreach: one multi-tensor call per update step instead of a Python loop over the parameters;
    # bitwise the same updates on the CPU (checked over 40 steps), less per-step overhead
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=0.05, foreach=True),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-5, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', eta_min=base_lr * 0.05, begin=15, end=max_epochs, T_max=15,
         by_epoch=True, convert_to_iter_based=True),
]

input_size = (96, 128)  # (w, h)
codec = dict(type='SimCCLabel', input_size=input_size, sigma=(2.45, 2.83), simcc_split_ratio=2.0,
             normalize=False, use_dark=False)
model = dict(
    type='TopdownPoseEstimator',
    # SimCC labels made for the whole batch in the preprocessor from the keypoints LeanPackPoseInputs
    # packs (bitwise the labels of GenerateTarget + PackPoseInputs in the worker, a seventh of the
    # bytes sent from the data worker); the same losses, bit for bit (tests/models/test_simcc_targets.py)
    data_preprocessor=dict(type='SimCCTargetPreprocessor', codec=codec, mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        _scope_='mmdet', type='CSPNeXt', arch='P5', expand_ratio=0.5,
        deepen_factor=0.167, widen_factor=0.25, out_indices=(4, ), channel_attention=True,
        norm_cfg=dict(type='SyncBN'), act_cfg=dict(type='SiLU'), init_cfg=None),
    head=dict(
        type='RTMCCHead', in_channels=256, out_channels=133, input_size=input_size,
        in_featuremap_size=(3, 4), simcc_split_ratio=2.0, final_layer_kernel_size=7,
        gau_cfg=dict(hidden_dims=256, s=128, expansion_factor=2, dropout_rate=0., drop_path=0.,
                     act_fn='SiLU', use_rel_bias=False, pos_enc=False),
        loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10., label_softmax=True),
        decoder=codec),
    test_cfg=dict(flip_test=True))

data_root = 'work_dirs/demo/data/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', scale_factor=[0.8, 1.2], rotate_factor=10),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='mmdet.YOLOXHSVRandomAug'),
    dict(type='Albumentation', transforms=[
        dict(type='Blur', p=0.1),
        dict(type='MedianBlur', p=0.1),
        dict(type='CoarseDropout', max_holes=1, max_height=0.3, max_width=0.3, min_holes=1,
             min_height=0.1, min_width=0.1, p=0.3),
    ]),
    dict(type='LeanPackPoseInputs'),
]
train_pipeline_stage2 = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_factor=0., scale_factor=[0.9, 1.1], rotate_factor=5),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='mmdet.YOLOXHSVRandomAug'),
    dict(type='Albumentation', transforms=[
        dict(type='Blur', p=0.1),
        dict(type='MedianBlur', p=0.1),
        dict(type='CoarseDropout', max_holes=1, max_height=0.3, max_width=0.3, min_holes=1,
             min_height=0.1, min_width=0.1, p=0.15),
    ]),
    dict(type='LeanPackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CocoWholeBodyDataset', data_root=data_root, data_mode='topdown',
                 ann_file='annotations/demo_wholebody_train.json',
                 data_prefix=dict(img='images/train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=1, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type='CocoWholeBodyDataset', data_root=data_root, data_mode='topdown',
                 ann_file='annotations/demo_wholebody_val.json',
                 data_prefix=dict(img='images/val/'), test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='WholeBodyTableMetric',
                     ann_file=f'{data_root}annotations/demo_wholebody_val.json')
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=5, save_best='coco-wholebody/AP', rule='greater',
                    max_keep_ckpts=2))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True,
         priority=49),
    dict(type='mmdet.PipelineSwitchHook', switch_epoch=27, switch_pipeline=train_pipeline_stage2),
]
