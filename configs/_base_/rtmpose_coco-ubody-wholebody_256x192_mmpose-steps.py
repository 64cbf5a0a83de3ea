# The 256x192 recipe with mmpose's own training steps in place of pipelines/fast_train_steps.py:
# LoadImage + RandomFlip + TopdownAffine (full decode, pixel flip, one warp), and the SimCC labels made
# per sample in the data workers (GenerateTarget + PackPoseInputs) with PoseDataPreprocessor (same
# normalisation). Same random draws, keypoints and labels as the recipe; for comparisons and
# benchmarks of the two ways (docs/configs.md).
_base_ = ['./rtmpose_coco-ubody-wholebody_256x192.py']

fast_decode_warp = False
load_image = 'LoadImage'
random_flip = 'RandomFlip'
topdown_affine = 'TopdownAffine'
targets_on_device = False
pack_train_inputs = [dict(type='GenerateTarget', encoder=_base_.codec), dict(type='PackPoseInputs')]
model = dict(data_preprocessor=dict(_delete_=True, type='PoseDataPreprocessor', **_base_.image_norm))

backend_args = _base_.backend_args
input_size = _base_.input_size
train_pipeline = [
    dict(type='LoadImage', backend_args=backend_args),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform', scale_factor=[0.6, 1.4], rotate_factor=80),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='mmdet.YOLOXHSVRandomAug'),
    dict(type='Albumentation', transforms=[
        dict(type='Blur', p=0.1),
        dict(type='MedianBlur', p=0.1),
        dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4, min_holes=1,
             min_height=0.2, min_width=0.2, p=1.0),
    ]),
    dict(type='GenerateTarget', encoder=_base_.codec),
    dict(type='PackPoseInputs'),
]
train_pipeline_stage2 = [
    dict(type='LoadImage', backend_args=backend_args),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform', shift_factor=0., scale_factor=[0.75, 1.25], rotate_factor=60),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='mmdet.YOLOXHSVRandomAug'),
    dict(type='Albumentation', transforms=[
        dict(type='Blur', p=0.1),
        dict(type='MedianBlur', p=0.1),
        dict(type='CoarseDropout', max_holes=1, max_height=0.4, max_width=0.4, min_holes=1,
             min_height=0.2, min_width=0.2, p=0.5),
    ]),
    dict(type='GenerateTarget', encoder=_base_.codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [
    _base_.custom_hooks[0],  # EMAHook
    dict(type='mmdet.PipelineSwitchHook', switch_epoch=240, switch_pipeline=train_pipeline_stage2),
]
