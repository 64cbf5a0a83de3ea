# The DWPose recipe (schedule, pipeline, EMA, pipeline switch) on body-only COCO: 17 keypoints,
# person_keypoints_*2017.json, COCO's AP (CocoMetric). Model: RTMPose-l; SimCC students replace the
# backbone and head and keep this codec, so teacher and student predict the same SimCC bins.
_base_ = ['./rtmpose_coco-ubody-wholebody_256x192.py']

num_keypoints = 17
model = dict(head=dict(out_channels=num_keypoints))

data_root = 'data/'
train_dataloader = dict(dataset=dict(
    _delete_=True, type='CocoDataset', data_root=data_root, data_mode='topdown',
    ann_file='coco/annotations/person_keypoints_train2017.json',
    data_prefix=dict(img='coco/train2017/'), pipeline=_base_.train_pipeline))
val_ann = 'coco/annotations/person_keypoints_val2017.json'
val_dataloader = dict(dataset=dict(type='CocoDataset', ann_file=val_ann))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric', ann_file=f'{data_root}{val_ann}')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='coco/AP'))
