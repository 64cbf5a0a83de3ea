# Body pre-training of the demo teacher's backbone (see rtmpose-student_body-pretrain_demo.py):
# the teacher's model at the student's pre-training schedule, on the 17 body keypoints.
_base_ = ['./rtmpose-teacher_demo.py']

max_epochs = 25
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
randomness = dict(seed=0)
model = dict(head=dict(out_channels=17))
train_dataloader = dict(dataset=dict(type='CocoDataset'))
val_dataloader = dict(dataset=dict(type='CocoDataset'))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric',
                     ann_file='work_dirs/demo/data/annotations/demo_wholebody_val.json')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='coco/AP'))
