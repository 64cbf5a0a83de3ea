# The DWPose recipe (schedule, pipeline, EMA, pipeline switch; docs/algorithm.md) on the
# keypoint set of ./dataset.py: K-keypoint RTMCC head, CocoDataset with that metainfo, COCO AP with its
# sigmas (CocoMetric), ground-truth boxes at validation. Model: RTMPose-l; size configs override
# the backbone width / depth and the head's input channels.
_base_ = ['../../../_base_/rtmpose_coco-ubody-wholebody_256x192.py', './dataset.py']

custom = _base_.custom
model = dict(head=dict(out_channels=custom['num_keypoints']))

# RandomHalfBody needs 'upper' / 'lower' keypoint types: a custom set may have none
train_pipeline = [t for t in _base_.train_pipeline if t['type'] != 'RandomHalfBody']
train_pipeline_stage2 = [t for t in _base_.train_pipeline_stage2 if t['type'] != 'RandomHalfBody']
metainfo = dict(from_file=custom['metainfo'])
train_dataloader = dict(dataset=dict(
    _delete_=True, type='CocoDataset', data_root=custom['data_root'], data_mode='topdown',
    metainfo=metainfo, ann_file=custom['train_ann'], data_prefix=dict(img=custom['train_img']),
    pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    _delete_=True, type='CocoDataset', data_root=custom['data_root'], data_mode='topdown',
    metainfo=metainfo, ann_file=custom['val_ann'], data_prefix=dict(img=custom['val_img']),
    test_mode=True, pipeline=_base_.val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric',
                     ann_file=custom['data_root'] + custom['val_ann'])
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='coco/AP'))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True,
         priority=49),
    dict(type='mmdet.PipelineSwitchHook', switch_epoch=240, switch_pipeline=train_pipeline_stage2),
]
