# The DWPose recipe at 256x192 trained on COCO-WholeBody only (no UBody).
_base_ = ['./rtmpose_coco-ubody-wholebody_256x192.py']

data_root = 'data/'
train_dataloader = dict(dataset=dict(datasets=[
    dict(type='CocoWholeBodyDataset', data_root=data_root, data_mode='topdown',
         ann_file='coco/annotations/coco_wholebody_train_v1.0.json',
         data_prefix=dict(img='coco/train2017/'), pipeline=[]),
]))
