# DWPose stage 1 on COCO-WholeBody at 256x192:
# SimCC-HRNet-w32 (SimDR) teacher (frozen) -> RTMPose-m student.
#   L = L_gt + (1 - epoch / max_epochs) * (L_fea + L_logit)                    (docs/algorithm.md)
#   L_fea   = feature_alpha * (1/N) * sum (align(F_student) - F_teacher)^2 on the last feature maps:
#             align = 1x1 conv 768 -> 32 channels, then bilinear upsampling of the 8 x 6 map to
#             HRNet's 64 x 48 (dwpose/distiller/align.py)
#   L_logit = logit_weight * (KL_x + KL_y) / K, beta = 10 (the student head loss's beta); same SimCC
#             bins on both sides (same codec: SimCCLabel, 256x192, split 2.0)
# Train:   python tools/train.py \
#              configs/distiller/coco-wholebody/s1_dis/simcc_hrnet-w32_dis_m__coco-wholebody-256x192.py \
#              --cfg-options model.teacher_ckpt=/path/to/teacher.pth
# Export:  python pth_transfer.py work_dirs/simcc_hrnet-w32_dis_m__coco-wholebody-256x192/best_*.pth \
#              work_dirs/simcc_hrnet-w32_dis_m__coco-wholebody-256x192/rtmpose-m_stage1.pth
# Data, optimizer, 270-epoch schedule, EMA and pipeline switch come from the student's config.
_base_ = ['../../../wholebody_2d_keypoint/rtmpose/coco-wholebody/rtmpose-m_8xb64-270e_coco-wholebody-256x192.py']  # noqa: E501

teacher_configs = '{{fileDirname}}/../../../wholebody_2d_keypoint/simcc/coco-wholebody/'
student_configs = '{{fileDirname}}/../../../wholebody_2d_keypoint/rtmpose/coco-wholebody/'

model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    stage=1,
    teacher_cfg=teacher_configs + 'simcc_hrnet-w32_8xb64-270e_coco-wholebody-256x192.py',
    teacher_ckpt='work_dirs/simcc_hrnet-w32-w32__coco-wholebody-256x192/simcc-hrnet-w32.pth',
    student_cfg=student_configs + 'rtmpose-m_8xb64-270e_coco-wholebody-256x192.py',
    feature_alpha=7e-5,
    logit_weight=0.1,
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0, norm_type=2))
# the EMA hook must not average the frozen teacher (see dwpose/distiller/hooks.py)
custom_hooks = _base_.custom_hooks + [dict(type='FrozenTeacherEMAHook')]
