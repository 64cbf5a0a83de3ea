# Reference row of the distillation study, stage 2: head self-distillation through mmpose 1.3.2's
# DWPoseDistiller (two_dis=True), set up as mmpose's
# configs/wholebody_2d_keypoint/dwpose/ubody/s2_dis/dwpose_t-tt_coco-ubody-256x192.py: KDLoss weight
# 1.0 (our configs/demo/dwpose_s2_demo.py uses the same), fewer epochs than stage 1 (15 of 25, as 60
# of 270) with the stage-1 schedule inherited unchanged, so the cosine and the pipeline switch
# happen late or never, as in mmpose. The stage-1 export is the teacher (teacher_pretrained):
#   python tools/train.py configs/demo/study/mmpose_dwpose_s2_demo.py \
#       --cfg-options model.teacher_pretrained=<mmpose stage-1 export>
# Export with mmpose's pth_transfer --two_dis logic: teacher backbone + student head.
_base_ = ['./mmpose_dwpose_s1_demo.py']

find_unused_parameters = True
max_epochs = 15
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)

model = dict(
    _delete_=True,
    type='DWPoseDistiller',
    two_dis=True,
    teacher_pretrained=None,
    teacher_cfg='{{fileDirname}}/../rtmpose-student_demo.py',
    student_cfg='{{fileDirname}}/../rtmpose-student_demo.py',
    distill_cfg=[dict(methods=[dict(type='KDLoss', name='loss_logit', use_this=True, weight=1.0)])],
    # the demo pipeline packs keypoints, not labels (LeanPackPoseInputs): the student's preprocessor
    # makes the SimCC labels, bitwise those of mmpose's GenerateTarget; the distiller is mmpose's own
    data_preprocessor=_base_.model.data_preprocessor,
)
