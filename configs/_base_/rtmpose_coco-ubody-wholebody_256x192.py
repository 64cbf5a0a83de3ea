# The DWPose recipe for one RTMPose model at 256x192 (docs/algorithm.md), size l.
# Size configs override only the backbone depth/width and the head's input channels; the 384x288
# recipe inherits this file. The training steps that differ from mmpose's come from
# pipelines/fast_train_steps.py.
_base_ = ['./default_runtime.py', './pipelines/fast_train_steps.py']

# ---- schedule ---------------------------------------------------------------------------------
max_epochs = 270
base_lr = 4e-3
train_batch_size = 64
val_batch_size = 32
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
randomness = dict(seed=21)
# Shape of the schedule; DWPoseRunner recomputes the epoch numbers below from train_cfg.max_epochs.
schedule = dict(warmup_iters=1000, cosine_from=0.5, eta_min_factor=0.05, pipeline_switch_at=8 / 9)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-5, by_epoch=False, begin=0, end=1000),
    dict(type='CosineAnnealingLR', eta_min=base_lr * 0.05, begin=135, end=max_epochs, T_max=135,
         by_epoch=True, convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=512)

# ---- model ------------------------------------------------------------------------------------
input_size = (192, 256)  # (w, h)
codec = dict(type='SimCCLabel', input_size=input_size, sigma=(4.9, 5.66), simcc_split_ratio=2.0,
             normalize=False, use_dark=False)
image_norm = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
model = dict(
    type='TopdownPoseEstimator',
    # the SimCC labels of each batch, from the keypoints the training pipeline packs
    data_preprocessor=dict(type='SimCCTargetPreprocessor', codec=codec, **image_norm),
    backbone=dict(
        _scope_='mmdet', type='CSPNeXt', arch='P5', expand_ratio=0.5,
        deepen_factor=1., widen_factor=1., out_indices=(4, ), channel_attention=True,
        norm_cfg=dict(type='SyncBN'), act_cfg=dict(type='SiLU'),
        # No download: set e.g. init_cfg=dict(type='Pretrained', prefix='backbone.',
        # checkpoint='/path/to/cspnext-l.pth') to start from a pretrained backbone.
        init_cfg=None),
    head=dict(
        type='RTMCCHead', in_channels=1024, out_channels=133, input_size=input_size,
        in_featuremap_size=(6, 8), simcc_split_ratio=2.0, final_layer_kernel_size=7,
        gau_cfg=dict(hidden_dims=256, s=128, expansion_factor=2, dropout_rate=0., drop_path=0.,
                     act_fn='SiLU', use_rel_bias=False, pos_enc=False),
        loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10., label_softmax=True),
        decoder=codec),
    test_cfg=dict(flip_test=True))

# ---- data: one data_root holds coco/ and UBody/ (see data/README.md) ---------------------------
data_root = 'data/'
data_mode = 'topdown'
backend_args = dict(backend='local')
scenes = ['Magic_show', 'Entertainment', 'ConductMusic', 'Online_class', 'TalkShow', 'Speech',
          'Fitness', 'Interview', 'Olympic', 'TVShow', 'Singing', 'SignLanguage', 'Movie',
          'LiveVlog', 'VideoConference']
coco_train = dict(type='CocoWholeBodyDataset', data_root=data_root, data_mode=data_mode,
                  ann_file='coco/annotations/coco_wholebody_train_v1.0.json',
                  data_prefix=dict(img='coco/train2017/'), pipeline=[])
ubody_train = [
    dict(type='UBody2dDataset', data_root=data_root, data_mode=data_mode,
         ann_file=f'UBody/annotations/{scene}/train_annotations.json',
         data_prefix=dict(img='UBody/images/'), pipeline=[], sample_interval=10)
    for scene in scenes
]

train_pipeline = [
    dict(type=_base_.load_image, backend_args=backend_args),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type=_base_.random_flip, direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform', scale_factor=[0.6, 1.4], rotate_factor=80),
    dict(type=_base_.topdown_affine, input_size=input_size),
    dict(type='mmdet.YOLOXHSVRandomAug'),
    dict(type='Albumentation', transforms=[
        dict(type='Blur', p=0.1),
        dict(type='MedianBlur', p=0.1),
        dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4, min_holes=1,
             min_height=0.2, min_width=0.2, p=1.0),
    ]),
    *_base_.pack_train_inputs,
]
# milder pipeline for the last ninth of training (PipelineSwitchHook)
train_pipeline_stage2 = [
    dict(type=_base_.load_image, backend_args=backend_args),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type=_base_.random_flip, direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform', shift_factor=0., scale_factor=[0.75, 1.25], rotate_factor=60),
    dict(type=_base_.topdown_affine, input_size=input_size),
    dict(type='mmdet.YOLOXHSVRandomAug'),
    dict(type='Albumentation', transforms=[
        dict(type='Blur', p=0.1),
        dict(type='MedianBlur', p=0.1),
        dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4, min_holes=1,
             min_height=0.2, min_width=0.2, p=0.5),
    ]),
    *_base_.pack_train_inputs,
]
val_pipeline = [
    dict(type='LoadImage', backend_args=backend_args),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=train_batch_size, num_workers=10, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CombinedDataset',
                 metainfo=dict(from_file='configs/_base_/datasets/coco_wholebody.py'),
                 datasets=[coco_train, *ubody_train], pipeline=train_pipeline, test_mode=False))
val_ann = 'coco/annotations/coco_wholebody_val_v1.0.json'
val_dataloader = dict(
    batch_size=val_batch_size, num_workers=10, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type='CocoWholeBodyDataset', data_root=data_root, data_mode=data_mode,
                 ann_file=val_ann,
                 bbox_file=f'{data_root}coco/person_detection_results/'
                 'COCO_val2017_detections_AP_H_56_person.json',
                 data_prefix=dict(img='coco/val2017/'), test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='WholeBodyTableMetric', ann_file=f'{data_root}{val_ann}')
test_evaluator = val_evaluator

# ---- hooks ------------------------------------------------------------------------------------
default_hooks = dict(
    checkpoint=dict(save_best='coco-wholebody/AP', rule='greater', max_keep_ckpts=1))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True,
         priority=49),
    dict(type='mmdet.PipelineSwitchHook', switch_epoch=240, switch_pipeline=train_pipeline_stage2),
]
