# DWPose stage 1 on MPII (16 keypoints, PCKh@0.5) at 256x256:
# SimCC-ResNet-50 teacher (frozen) -> SimCC-MobileNetV2 student.
#   L = L_gt + (1 - epoch / max_epochs) * (L_fea + L_logit)                    (docs/algorithm.md)
#   L_fea   = feature_alpha * (1/N) * sum (align(F_student) - F_teacher)^2 on the last feature maps:
#             align = 1x1 conv 1280 -> 2048 channels; both maps are 8 x 8
#   L_logit = logit_weight * (KL_x + KL_y) / K, beta = 10 (the student head loss's beta); same SimCC
#             bins on both sides (same codec: SimCCLabel, 256x256, split 2.0)
# Train:   python tools/train.py \
#              configs/distiller/mpii/s1_dis/simcc_res50_dis_mbv2__mpii-256x256.py \
#              --cfg-options model.teacher_ckpt=/path/to/teacher.pth
# Export:  python pth_transfer.py work_dirs/simcc_res50_dis_mbv2__mpii-256x256/best_*.pth \
#              work_dirs/simcc_res50_dis_mbv2__mpii-256x256/simcc-mbv2_mpii_stage1.pth
# Data, optimizer, 270-epoch schedule, EMA and pipeline switch come from the student's config.
_base_ = ['../../../body_2d_keypoint/simcc/mpii/simcc_mobilenetv2_wo-deconv_8xb64-270e_mpii-256x256.py']  # noqa: E501

student_configs = '{{fileDirname}}/../../../body_2d_keypoint/simcc/mpii/'

model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    stage=1,
    teacher_cfg=student_configs + 'simcc_res50_wo-deconv_8xb64-270e_mpii-256x256.py',
    teacher_ckpt='work_dirs/simcc_res50_wo-deconv_8xb64-270e_mpii-256x256/simcc-res50_mpii.pth',
    student_cfg=student_configs + 'simcc_mobilenetv2_wo-deconv_8xb64-270e_mpii-256x256.py',
    feature_alpha=7e-5,
    logit_weight=0.1,
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0, norm_type=2))
# the EMA hook must not average the frozen teacher (see dwpose/distiller/hooks.py)
custom_hooks = _base_.custom_hooks + [dict(type='FrozenTeacherEMAHook')]
