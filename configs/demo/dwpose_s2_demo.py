# Miniature DWPose stage 2 on the synthetic demo data (128x96): the stage-1 demo student becomes
# the frozen teacher; a fresh head of the same size learns on its backbone features to reproduce
# its logits (L = 1.0 * L_logit, no ground truth, no decay). The schedule shrinks like the full
# recipe's (60 of 270 epochs); DWPoseRunner rescales cosine and pipeline switch to max_epochs.
# Train:  python tools/train.py configs/demo/dwpose_s2_demo.py \
#             --cfg-options model.teacher_ckpt=<stage-1 export>
# Export: python pth_transfer.py <last checkpoint of this run> <plain student checkpoint>
# `dwpose demo` passes work_dirs/demo/s1_student.pth, trains into work_dirs/demo/s2/ and exports
# work_dirs/demo/s2/final.pth to work_dirs/demo/dwpose_student.pth.
_base_ = ['./rtmpose-student_demo.py']

max_epochs = 15
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)

model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    stage=2,
    teacher_cfg='{{fileDirname}}/rtmpose-student_demo.py',
    teacher_ckpt='work_dirs/demo/dwpose-student_stage1.pth',
    student_cfg='{{fileDirname}}/rtmpose-student_demo.py',
    feature_alpha=0.,
    logit_weight=1.0,
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0, norm_type=2))
custom_hooks = _base_.custom_hooks + [dict(type='FrozenTeacherEMAHook')]
