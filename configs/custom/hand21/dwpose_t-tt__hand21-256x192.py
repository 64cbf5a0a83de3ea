# DWPose stage 2 on the custom keypoint set: stage-1 RTMPose-t -> RTMPose-t (head self-distillation,
# logit loss only, 60 epochs; the export is the teacher backbone + the new student head).
# Train:   python tools/train.py configs/custom/hand21/dwpose_t-tt__hand21-256x192.py \
#              --cfg-options model.teacher_ckpt=/path/to/dwpose-t_hand21_stage1.pth
_base_ = ['./rtmpose-t_hand21-256x192.py']

max_epochs = 60
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    stage=2,
    teacher_cfg='{{fileDirname}}/rtmpose-t_hand21-256x192.py',
    teacher_ckpt='work_dirs/dwpose_m_dis_t__hand21-256x192/dwpose-t_hand21_stage1.pth',
    student_cfg='{{fileDirname}}/rtmpose-t_hand21-256x192.py',
    feature_alpha=0.,
    logit_weight=1.0,
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0, norm_type=2))
custom_hooks = _base_.custom_hooks + [dict(type='FrozenTeacherEMAHook')]
