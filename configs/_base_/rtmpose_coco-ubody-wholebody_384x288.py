# The DWPose recipe for one RTMPose model at 384x288 (docs/algorithm.md), size l: the 256x192
# recipe with this input size, SimCC sigma, head feature map and batch 32; everything else inherited.
_base_ = ['./rtmpose_coco-ubody-wholebody_256x192.py']

train_batch_size = 32
auto_scale_lr = dict(base_batch_size=256)

input_size = (288, 384)  # (w, h)
codec = dict(input_size=input_size, sigma=(6.0, 6.93))  # merged into the 256x192 codec
model = dict(
    data_preprocessor=dict(codec=codec),
    head=dict(input_size=input_size, in_featuremap_size=(9, 12), decoder=codec))

# The 256x192 pipelines with their crop step (the sixth of the training pipelines, the third of the
# validation one) at this size; tests/engine/test_config_pipelines.py checks nothing else differs.
train_pipeline = [*_base_.train_pipeline[:5],
                  dict(type=_base_.topdown_affine, input_size=input_size),
                  *_base_.train_pipeline[6:]]
train_pipeline_stage2 = [*_base_.train_pipeline_stage2[:5],
                         dict(type=_base_.topdown_affine, input_size=input_size),
                         *_base_.train_pipeline_stage2[6:]]
val_pipeline = [*_base_.val_pipeline[:2],
                dict(type='TopdownAffine', input_size=input_size),
                *_base_.val_pipeline[3:]]

train_dataloader = dict(batch_size=train_batch_size, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
custom_hooks = [
    _base_.custom_hooks[0],  # EMAHook
    dict(type='mmdet.PipelineSwitchHook', switch_epoch=240, switch_pipeline=train_pipeline_stage2),
]
