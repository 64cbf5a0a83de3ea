# The DWPose recipe at 384x288 trained on COCO-WholeBody only (no UBody).
_base_ = ['./rtmpose_coco-ubody-wholebody_384x288.py']

data_root = 'data/'
train_dataloader = dict(dataset=dict(datasets=[
    dict(type='CocoWholeBodyDataset', data_root=data_root, data_mode='topdown',
         ann_file='coco/annotations/coco_wholebody_train_v1.0.json',
         data_prefix=dict(img='coco/train2017/'), pipeline=[]),
]))
