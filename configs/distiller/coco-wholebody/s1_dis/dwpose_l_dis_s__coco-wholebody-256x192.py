# DWPose stage 1 on COCO-WholeBody at 256x192:
# DWPose-l teacher (frozen) -> RTMPose-s student.
#   L = L_gt + (1 - epoch / max_epochs) * (L_fea + L_logit)                    (docs/algorithm.md)
#   L_fea   = feature_alpha * (1/N) * sum (align(F_student) - F_teacher)^2 on the last backbone stage;
#             align = 1x1 conv 512 -> 1024 channels (with bias), trained with the student
#   L_logit = logit_weight * (KL_x + KL_y) / K, beta = 10 (the student head loss's beta)
# Train:   python tools/train.py \
#              configs/distiller/coco-wholebody/s1_dis/dwpose_l_dis_s__coco-wholebody-256x192.py \
#              --cfg-options model.teacher_ckpt=/path/to/teacher.pth
# Export:  python pth_transfer.py work_dirs/dwpose_l_dis_s__coco-wholebody-256x192/best_*.pth \
#              work_dirs/dwpose_l_dis_s__coco-wholebody-256x192/dwpose-s_stage1.pth
# Data, optimizer, 270-epoch schedule, EMA and pipeline switch come from the student's config.
_base_ = ['../../../wholebody_2d_keypoint/rtmpose/coco-wholebody/rtmpose-s_8xb64-270e_coco-wholebody-256x192.py']  # noqa: E501

plain_configs = '{{fileDirname}}/../../../wholebody_2d_keypoint/rtmpose/coco-wholebody/'

model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    stage=1,
    teacher_cfg=plain_configs + 'rtmpose-l_8xb64-270e_coco-wholebody-256x192.py',
    teacher_ckpt='work_dirs/dwpose_l-ll__coco-wholebody-256x192/dwpose-l.pth',
    student_cfg=plain_configs + 'rtmpose-s_8xb64-270e_coco-wholebody-256x192.py',
    feature_alpha=7e-5,
    logit_weight=0.1,
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0, norm_type=2))
# the EMA hook must not average the frozen teacher (see dwpose/distiller/hooks.py)
custom_hooks = _base_.custom_hooks + [dict(type='FrozenTeacherEMAHook')]
