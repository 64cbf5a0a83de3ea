# Body pre-training of the demo student's backbone: the miniature's stand-in for the body-pose
# pretrained CSPNeXt (cspnext-*_udp-aic-coco) every whole-body RTMPose / DWPose run starts from.
# Same model, schedule and pipeline as the student, on the 17 body keypoints of the same training
# split (CocoDataset reads the `keypoints` field of the COCO-WholeBody annotations), head of 17.
# Whole-body runs then load its `backbone.*` weights:
#   init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=<this run's final.pth>)
_base_ = ['./rtmpose-student_demo.py']

randomness = dict(seed=0)  # one fixed pre-training shared by every whole-body run and seed
model = dict(head=dict(out_channels=17))
train_dataloader = dict(dataset=dict(type='CocoDataset'))
val_dataloader = dict(dataset=dict(type='CocoDataset'))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric',
                     ann_file='work_dirs/demo/data/annotations/demo_wholebody_val.json')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='coco/AP'))
