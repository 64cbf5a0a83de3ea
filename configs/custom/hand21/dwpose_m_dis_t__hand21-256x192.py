# DWPose stage 1 on the custom keypoint set: RTMPose-m teacher (frozen) -> RTMPose-t student.
#   L = L_gt + (1 - epoch / max_epochs) * (L_fea + L_logit); align = 1x1 conv 384 -> 768 channels
# Train:   python tools/train.py configs/custom/hand21/dwpose_m_dis_t__hand21-256x192.py \
#              --cfg-options model.teacher_ckpt=/path/to/rtmpose-m_hand21.pth
_base_ = ['./rtmpose-t_hand21-256x192.py']

model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    stage=1,
    teacher_cfg='{{fileDirname}}/rtmpose-m_hand21-256x192.py',
    teacher_ckpt='work_dirs/rtmpose-m_hand21-256x192/rtmpose-m_hand21.pth',
    student_cfg='{{fileDirname}}/rtmpose-t_hand21-256x192.py',
    feature_alpha=7e-5,
    logit_weight=0.1,
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0, norm_type=2))
# the EMA hook must not average the frozen teacher (see dwpose/distiller/hooks.py)
custom_hooks = _base_.custom_hooks + [dict(type='FrozenTeacherEMAHook')]
