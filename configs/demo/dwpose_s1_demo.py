# Miniature DWPose stage 1 on the synthetic demo data (128x96): demo teacher (frozen) -> the
# narrower demo student. Same losses as the full recipe:
#   L = L_gt + (1 - epoch / max_epochs) * (L_fea + L_logit)
#   L_fea: 1x1 conv from student to teacher channels; L_logit: weight 0.1, beta 10.
# Only the feature weight differs: the recipe's alpha 7e-5 makes L_fea about 7x L_gt at the start
# on these from-scratch features and holds the student on an average pose (demo Whole AP 0.004
# after 25 epochs); alpha 7e-6 keeps it below L_gt.
# Train:  python tools/train.py configs/demo/dwpose_s1_demo.py \
#             --cfg-options model.teacher_ckpt=<trained demo teacher, plain checkpoint>
# Export: python pth_transfer.py <last checkpoint of this run> <plain student checkpoint>
# `dwpose demo` passes work_dirs/demo/teacher/final.pth, trains into work_dirs/demo/s1/ and exports
# work_dirs/demo/s1/final.pth to work_dirs/demo/s1_student.pth.
_base_ = ['./rtmpose-student_demo.py']

model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    stage=1,
    teacher_cfg='{{fileDirname}}/rtmpose-teacher_demo.py',
    teacher_ckpt='work_dirs/demo/rtmpose-teacher_demo.pth',
    student_cfg='{{fileDirname}}/rtmpose-student_demo.py',
    feature_alpha=7e-6,
    logit_weight=0.1,
)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0, norm_type=2))
custom_hooks = _base_.custom_hooks + [dict(type='FrozenTeacherEMAHook')]
