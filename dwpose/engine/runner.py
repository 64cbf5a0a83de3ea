"""``DWPoseRunner``: MMEngine's Runner with the project's runtime guarantees.

- the schedule follows the run's own ``max_epochs`` (:mod:`dwpose.engine.schedule`);
- the same config runs without CUDA (:mod:`dwpose.engine.device`);
- checkpoints are written to a temporary file and renamed, so a kill never leaves a truncated
  ``epoch_N.pth`` behind for ``--resume`` to trip over;
- a run killed anywhere resumes to the same weights as an uninterrupted one: augmentation is seeded
  per sample, a checkpoint from inside an epoch resumes at the next batch
  (:mod:`dwpose.engine.loops`) and checkpoints carry the random streams
  (:mod:`dwpose.engine.rng_state`);
- DataLoader workers die with the training process, also under ``kill -9``
  (:func:`dwpose.engine.data_seeding.workers_die_with_parent`);
- the config's text (``Config.pretty_text``, a yapf run of about 0.4 s on 2 cores) is formatted
  once per content instead of at every log line, config dump and checkpoint that quotes it
  (:class:`TextCachedConfig`); the text itself is the same.

Configs select it with ``runner_type = 'DWPoseRunner'``.
"""

from __future__ import annotations

import os.path as osp

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.registry import RUNNERS  # root registry: found with or without a default scope
from mmengine.runner import Runner

from dwpose.engine import checkpoint as _checkpoint  # noqa: F401  (weights_only allow-list)
from dwpose.engine import rng_state as _rng_state  # noqa: F401  (RandomStateHook)
from dwpose.engine.data_seeding import workers_die_with_parent
from dwpose.engine.device import adapt_to_device, revert_sync_bn_without_cuda
from dwpose.engine.loops import ExactEpochTrainLoop
from dwpose.engine.schedule import apply_schedule
from dwpose.fileio import atomic_path


class TextCachedConfig(Config):
    """A :class:`~mmengine.config.Config` whose ``pretty_text`` is formatted once per content.

    MMEngine formats the whole config with yapf for the log, the dumped config, the visualizer and
    every checkpoint's ``meta.cfg``: about 0.4 s each on 2 cores, a dozen times in a short run.
    The cached text is keyed by ``repr`` of the config's contents, so a changed config is formatted
    again; the text is exactly what ``Config.pretty_text`` returns.
    """

    @property
    def pretty_text(self) -> str:
        key = repr(self._cfg_dict)
        cached = self.__dict__.get("_text_cache")
        if cached is None or cached[0] != key:
            cached = (key, Config.pretty_text.fget(self))
            super(Config, self).__setattr__("_text_cache", cached)  # Config's own setattr writes fields
        return cached[1]


@RUNNERS.register_module()
class DWPoseRunner(Runner):
    """Runner with derived schedules, CPU fallbacks and atomic checkpoints."""

    @classmethod
    def from_cfg(cls, cfg: Config) -> DWPoseRunner:
        cfg = cfg.copy()
        object.__setattr__(cfg, "__class__", TextCachedConfig)  # Runner deep-copies it, keeping the class
        apply_schedule(cfg)
        hooks = list(cfg.get("custom_hooks") or [])
        for name in ("WeightsOnlyCheckpointHook", "RandomStateHook"):
            if not any(h.get("type") == name for h in hooks):
                hooks.append(dict(type=name))
        cfg.custom_hooks = hooks
        notes = adapt_to_device(cfg, cfg.get("launcher", "none"))
        runner = super().from_cfg(cfg)
        for note in notes:
            print_log(note, logger="current")
        return runner

    def wrap_model(self, model_wrapper_cfg, model):
        """Without CUDA, SyncBN becomes BatchNorm (also under a CPU process group), then MMEngine wraps."""
        model, notes = revert_sync_bn_without_cuda(model)
        for note in notes:
            print_log(note, logger="current")
        return super().wrap_model(model_wrapper_cfg, model)

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        """MMEngine's DataLoader, whose workers die with this process."""
        loader = Runner.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)
        loader.worker_init_fn = workers_die_with_parent(loader.worker_init_fn)
        return loader

    def build_train_loop(self, loop):
        """``train_cfg = dict(by_epoch=True, ...)`` builds :class:`ExactEpochTrainLoop`."""
        if isinstance(loop, dict) and loop.get("by_epoch") and "type" not in loop:
            loop = {k: v for k, v in loop.items() if k != "by_epoch"}
            loop["type"] = ExactEpochTrainLoop
        return super().build_train_loop(loop)

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        for hook in self.hooks:  # every rank is here; only rank 0 goes on into MMEngine's method
            if isinstance(hook, _rng_state.RandomStateHook):
                hook.gather()
        if not is_main_process():  # MMEngine writes checkpoints on rank 0 only
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        with atomic_path(osp.join(out_dir, filename), suffix=".part") as tmp:
            super().save_checkpoint(out_dir, tmp.name, *args, **kwargs)
