"""``ExactEpochTrainLoop``: MMEngine's epoch loop, resumable to the bit.

``DWPoseRunner`` uses it for every ``train_cfg = dict(by_epoch=True, ...)``. Over
``EpochBasedTrainLoop`` it

- seeds augmentation per sample (:func:`dwpose.engine.data_seeding.seeded_train_loader`), so what
  epoch ``e`` sees does not depend on how many epochs this process has already loaded;
- resumes a checkpoint saved inside an epoch (``CheckpointHook(by_epoch=False)``) at the batch
  after it. ``EpochBasedTrainLoop`` restarts such an epoch at its first batch: it trains on those
  batches twice and runs more iterations than planned.

Together with :class:`dwpose.engine.rng_state.RandomStateHook` a run killed anywhere and resumed
ends with the same weights, BN statistics, EMA and optimizer state as an uninterrupted one.
"""

from __future__ import annotations

import itertools

from mmengine.dist import get_rank
from mmengine.runner import EpochBasedTrainLoop
from mmpose.registry import LOOPS

from dwpose.engine.data_seeding import PerSampleSeedSampler, seeded_train_loader


@LOOPS.register_module()
class ExactEpochTrainLoop(EpochBasedTrainLoop):
    """Epoch-based training loop with per-sample augmentation seeds and mid-epoch resume."""

    def __init__(self, runner, dataloader, max_epochs: int, val_begin: int = 1, val_interval: int = 1,
                 dynamic_intervals=None) -> None:
        super().__init__(runner, dataloader, max_epochs, val_begin, val_interval, dynamic_intervals)
        self.dataloader = seeded_train_loader(self.dataloader, runner.seed, get_rank())

    def run_epoch(self) -> None:
        """Iterate over the batches of the epoch not trained yet (all of them unless resumed)."""
        self.runner.call_hook("before_train_epoch")
        self.runner.model.train()
        done = max(0, self._iter - self._epoch * len(self.dataloader))  # trained before a resume
        sampler = self.dataloader.sampler
        if isinstance(sampler, PerSampleSeedSampler):
            sampler.set_epoch(self._epoch)
            sampler.skip_next(done * self.dataloader.batch_size)
            batches = enumerate(self.dataloader, start=done)
        else:  # a custom batch sampler: load and drop the batches already trained on
            batches = itertools.islice(enumerate(self.dataloader), done, None)
        for idx, data_batch in batches:
            self.run_iter(idx, data_batch)

        self.runner.call_hook("after_train_epoch")
        self._epoch += 1
