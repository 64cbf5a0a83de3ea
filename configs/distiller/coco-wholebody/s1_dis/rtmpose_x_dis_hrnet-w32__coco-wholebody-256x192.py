# DWPose stage 1 on COCO-WholeBody at 256x192:
# RTMPose-x teacher (frozen) -> SimCC-HRNet-w32 (SimDR) student.
#   L = L_gt + (1 - epoch / max_epochs) * (L_fea + L_logit)                    (docs/algorithm.md)
#   L_fea   = feature_alpha * (1/N) * sum (align(F_student) - F_teacher)^2 on the last feature maps:
#             align = 1x1 conv 32 -> 1280 channels after averaging HRNet's 64 x 48 map onto
#             the teacher's 8 x 6 (dwpose/distiller/align.py)
#   L_logit = logit_weight * (KL_x + KL_y) / K, beta = 10 (the student head loss's beta); same SimCC
#             bins on both sides (same codec: SimCCLabel, 256x192, split 2.0)
# Train:   python tools/train.py \
#              configs/distiller/coco-wholebody/s1_dis/rtmpose_x_dis_hrnet-w32__coco-wholebody-256x192.py \
#              --cfg-options model.teacher_ckpt=/path/to/teacher.pth
# Export:  python pth_transfer.py work_dirs/rtmpose_x_dis_hrnet-w32__coco-wholebody-256x192/best_*.pth \
#              work_dirs/rtmpose_x_dis_hrnet-w32__coco-wholebody-256x192/simcc-hrnet-w32_stage1.pth
# Data, optimizer, 270-epoch schedule, EMA and pipeline switch come from the student's config.
_base_ = ['../../../wholebody_2d_keypoint/simcc/coco-wholebody/simcc_hrnet-w32_8xb64-270e_coco-wholebody-256x192.py']  # noqa: E501

teacher_configs = '{{fileDirname}}/../../../wholebody_2d_keypoint/rtmpose/coco-wholebody/'
student_configs = '{{fileDirname}}/../../../wholebody_2d_keypoint/simcc/coco-wholebody/'

model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    stage=1,
    teacher_cfg=teacher_configs + 'rtmpose-x_8xb64-270e_coco-wholebody-256x192.py',
    teacher_ckpt='work_dirs/rtmpose_x-xx__coco-wholebody-256x192/dwpose-x.pth',
    student_cfg=student_configs + 'simcc_hrnet-w32_8xb64-270e_coco-wholebody-256x192.py',
    feature_alpha=7e-5,
    logit_weight=0.1,
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0, norm_type=2))
# the EMA hook must not average the frozen teacher (see dwpose/distiller/hooks.py)
custom_hooks = _base_.custom_hooks + [dict(type='FrozenTeacherEMAHook')]
