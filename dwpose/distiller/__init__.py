"""Two-stage distillation (DWPose): wrapper model, losses, EMA guard hook, checkpoint conversion.

Modules (imported on demand; this package itself stays free of torch and mm* imports):

- :mod:`dwpose.distiller.losses`: ``feature_distill_loss``, ``logit_distill_loss``.
- :mod:`dwpose.distiller.model`: ``TwoStageDistiller`` (registered in mmpose's MODELS by
  ``dwpose.plugin``).
- :mod:`dwpose.distiller.hooks`: ``FrozenTeacherEMAHook`` (mmpose's HOOKS).
- :mod:`dwpose.distiller.build`: teacher and student built from their configs, strict teacher loading.
- :mod:`dwpose.distiller.frozen`: the frozen teacher's BatchNorm-folded fast copy and its cache.
- :mod:`dwpose.distiller.transfer`: distiller checkpoint -> plain checkpoint (``pth_transfer.py``).
"""
