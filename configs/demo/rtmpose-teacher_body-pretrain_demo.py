# Body pre-training of the demo teacher's backbone (see rtmpose-student_body-pretrain_demo.py):
# the teacher's model at the student's pre-training schedule and learning rate, on the 17 body
# keypoints. At the teacher's whole-body rate (5e-4) the body loss stays on the average-pose plateau
# (above 0.42) until epoch 23 of 25, and a teacher fine-tuned from that backbone leaves it only at
# epoch 38 of 40 (Whole AP 0.002); at 1e-3 the body pre-training leaves it in the first epochs, as
# the student's does.
_base_ = ['./rtmpose-teacher_demo.py']

max_epochs = 25
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
randomness = dict(seed=0)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
model = dict(head=dict(out_channels=17))
val_dataloader = dict(dataset=dict(type='CocoDataset'))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric',
                     ann_file='work_dirs/demo/data/annotations/demo_wholebody_val.json')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='coco/AP'))
# the milder stage-2 augmentation from the first epoch: under the full augmentation this wider,
# deeper model stays on the average pose until the pipeline switch (epoch 23 of 25, at 5e-4 and 1e-3)
train_pipeline = _base_.train_pipeline_stage2
train_dataloader = dict(dataset=dict(type='CocoDataset', pipeline=train_pipeline))
