# DWPose stage 2 (head self-distillation) on MPII (16 keypoints, PCKh@0.5) at 256x256:
# stage-1 SimCC-MobileNetV2 -> SimCC-MobileNetV2.
# The teacher is the stage-1 model (plain checkpoint); a fresh student head learns on the frozen
# teacher backbone's features to reproduce the teacher head's logits:
#   L = logit_weight * (KL_x + KL_y) / K, beta = 10; no ground-truth term, no decay, 60 epochs.
# The exported model is teacher backbone + student head.
# Train:   python tools/train.py \
#              configs/distiller/mpii/s2_dis/simcc_mbv2-mbv2__mpii-256x256.py
#              (--cfg-options model.teacher_ckpt=... if the stage-1 model lives elsewhere)
# Export:  python pth_transfer.py work_dirs/simcc_mbv2-mbv2__mpii-256x256/best_*.pth \
#              work_dirs/simcc_mbv2-mbv2__mpii-256x256/simcc-mbv2_mpii.pth
# Data, optimizer, EMA and pipeline switch come from the plain config; DWPoseRunner rescales the
# schedule (cosine from epoch 30, pipeline switch at epoch 53) to max_epochs = 60.
_base_ = ['../../../body_2d_keypoint/simcc/mpii/simcc_mobilenetv2_wo-deconv_8xb64-270e_mpii-256x256.py']  # noqa: E501

plain_configs = '{{fileDirname}}/../../../body_2d_keypoint/simcc/mpii/'

max_epochs = 60
train_cfg = dict(max_epochs=max_epochs, val_interval=10)

model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    stage=2,
    teacher_cfg=plain_configs + 'simcc_mobilenetv2_wo-deconv_8xb64-270e_mpii-256x256.py',
    teacher_ckpt='work_dirs/simcc_res50_dis_mbv2__mpii-256x256/simcc-mbv2_mpii_stage1.pth',
    student_cfg=plain_configs + 'simcc_mobilenetv2_wo-deconv_8xb64-270e_mpii-256x256.py',
    feature_alpha=0.,
    logit_weight=1.0,
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0, norm_type=2))
# the EMA hook must not average the frozen teacher (see dwpose/distiller/hooks.py)
custom_hooks = _base_.custom_hooks + [dict(type='FrozenTeacherEMAHook')]
