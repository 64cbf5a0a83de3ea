# DWPose stage 1 on body-only COCO (17 keypoints) at 256x192:
# RTMPose-l (CSPNeXt + RTMCCHead) teacher (frozen) -> SimCC-ResNet-50 student.
#   L = L_gt + (1 - epoch / max_epochs) * (L_fea + L_logit)                    (docs/algorithm.md)
#   L_fea   = feature_alpha * (1/N) * sum (align(F_student) - F_teacher)^2 on the last feature maps:
#             align = 1x1 conv 2048 -> 1024 channels on ResNet-50's 8 x 6 map (before the head's deconvs)
#   L_logit = logit_weight * (KL_x + KL_y) / K, beta = 10 (the student head loss's beta); same SimCC
#             bins on both sides (same codec: SimCCLabel, 256x192, split 2.0)
# Train:   python tools/train.py \
#              configs/distiller/coco/s1_dis/rtmpose_l_dis_res50__coco-256x192.py \
#              --cfg-options model.teacher_ckpt=/path/to/teacher.pth
# Export:  python pth_transfer.py work_dirs/rtmpose_l_dis_res50__coco-256x192/best_*.pth \
#              work_dirs/rtmpose_l_dis_res50__coco-256x192/simcc-res50_stage1.pth
# Data, optimizer, 270-epoch schedule, EMA and pipeline switch come from the student's config.
_base_ = ['../../../body_2d_keypoint/simcc/coco/simcc_res50_8xb64-270e_coco-256x192.py']  # noqa: E501

teacher_configs = '{{fileDirname}}/../../../body_2d_keypoint/rtmpose/coco/'
student_configs = '{{fileDirname}}/../../../body_2d_keypoint/simcc/coco/'

model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    stage=1,
    teacher_cfg=teacher_configs + 'rtmpose-l_8xb64-270e_coco-256x192.py',
    teacher_ckpt='work_dirs/rtmpose-l_8xb64-270e_coco-256x192/rtmpose-l_coco.pth',
    student_cfg=student_configs + 'simcc_res50_8xb64-270e_coco-256x192.py',
    feature_alpha=7e-5,
    logit_weight=0.1,
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0, norm_type=2))
# the EMA hook must not average the frozen teacher (see dwpose/distiller/hooks.py)
custom_hooks = _base_.custom_hooks + [dict(type='FrozenTeacherEMAHook')]
