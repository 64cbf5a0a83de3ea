# Reference row of the distillation study (tools/analysis/distill_study.py): DWPose stage 1 on the
# demo data through mmpose 1.3.2's own DWPoseDistiller, set up as mmpose's
# configs/wholebody_2d_keypoint/dwpose/ubody/s1_dis/dwpose_l_dis_t_coco-ubody-256x192.py sets it up:
# FeaLoss + KDLoss (loss_fea and loss_logit both scaled by 1 - epoch / max_epochs inside the model),
# at the weights of our configs/demo/dwpose_s1_demo.py (alpha 7e-6, logit weight 0.1), the stock
# MMEngine Runner and mmpose's hooks (EMA over the whole distiller, teacher included).
# The teacher is loaded by DWPoseDistiller.init_weights from teacher_pretrained, a run-time input:
#   python tools/train.py configs/demo/study/mmpose_dwpose_s1_demo.py \
#       --cfg-options model.teacher_pretrained=<demo teacher checkpoint>
# Export with mmpose's pth_transfer logic (dwpose.study.mmpose_ref.mmpose_transfer).
_base_ = ['../rtmpose-student_demo.py']

runner_type = 'Runner'  # what mmpose's tools/train.py builds: no schedule derived from max_epochs
find_unused_parameters = False

model = dict(
    _delete_=True,
    type='DWPoseDistiller',
    teacher_pretrained=None,
    teacher_cfg='{{fileDirname}}/../rtmpose-teacher_demo.py',
    student_cfg='{{fileDirname}}/../rtmpose-student_demo.py',
    distill_cfg=[
        dict(methods=[
            dict(type='FeaLoss', name='loss_fea', use_this=True, student_channels=256,
                 teacher_channels=384, alpha_fea=7e-6)
        ]),
        dict(methods=[dict(type='KDLoss', name='loss_logit', use_this=True, weight=0.1)]),
    ],
    # the demo pipeline packs keypoints, not labels (LeanPackPoseInputs): the student's preprocessor
    # makes the SimCC labels, bitwise those of mmpose's GenerateTarget; the distiller is mmpose's own
    data_preprocessor=_base_.model.data_preprocessor,
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0, norm_type=2))

# mmpose's configs write the schedule out for their epoch count (270); this is the demo's stage-1
# schedule written out for its 25 epochs (the study rewrites these numbers for its own E1 epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-5, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', eta_min=5e-5, begin=12, end=25, T_max=13, by_epoch=True,
         convert_to_iter_based=True),
]
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True,
         priority=49),
    dict(type='mmdet.PipelineSwitchHook', switch_epoch=22,
         switch_pipeline=_base_.train_pipeline_stage2),
]
