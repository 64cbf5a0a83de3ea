"""``FrozenTeacherEMAHook``: keep EMA from touching the distiller's frozen teacher.

MMEngine's ``EMAHook`` averages every floating tensor of the model, the frozen teacher included.
``ExpMomentumEMA`` computes ``avg * (1 - m) + src * m``, which is not bit-exact even when
``avg == src`` (once m is small, about a third of the elements move by one ulp), and the EMA weights
are what validation uses and what checkpoints store: a stage-2 export would then carry a teacher
backbone that differs from the stage-1 model it came from. This hook takes the teacher out of the
averaged set before training starts (which also saves the EMA update's time on it) and copies the
live teacher into the EMA copy, so validation, checkpoints and exports see the teacher unchanged.
"""

from __future__ import annotations

from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import BaseAveragedModel, is_model_wrapper
from mmpose.registry import HOOKS
from torch import nn

TEACHER_PREFIX = "teacher."


def _find_ema_model(runner) -> Optional[BaseAveragedModel]:
    """The averaged model of the runner's EMA hook, if there is one."""
    for hook in runner.hooks:
        ema = getattr(hook, "ema_model", None)
        if isinstance(ema, BaseAveragedModel):
            return ema
    return None


def exclude_teacher_from_ema(ema: BaseAveragedModel, model: nn.Module) -> int:
    """Stop ``ema`` from averaging ``model.teacher`` and make its teacher copy equal the live one.

    Returns:
        The number of teacher tensors removed from the averaged set.
    """
    keys = [k for k in ema.avg_parameters if k.startswith(TEACHER_PREFIX)]
    for key in keys:
        del ema.avg_parameters[key]
    ema.module.teacher.load_state_dict(model.teacher.state_dict())
    return len(keys)


@HOOKS.register_module()
class FrozenTeacherEMAHook(Hook):
    """Exclude a distiller's ``teacher`` from the EMA hook's averaging (no-op without EMA).

    Add it after the EMA hook in ``custom_hooks``: ``dict(type='FrozenTeacherEMAHook')``.
    """

    priority = "NORMAL"

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        ema = _find_ema_model(runner)
        if ema is None or not hasattr(model, "teacher"):
            return
        count = exclude_teacher_from_ema(ema, model)
        runner.logger.info(f"FrozenTeacherEMAHook: EMA leaves the {count} teacher tensors alone")
