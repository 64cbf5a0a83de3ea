"""Augmentation randomness that depends on the sample, not on the process that loads it.

MMEngine seeds each DataLoader worker once (``worker_init_fn``); a persistent worker then carries
its random state from epoch to epoch, and with ``num_workers=0`` augmentation draws from the
training process's own generators. Either way the augmentation of epoch ``e`` depends on every
draw made before it, which a resumed run cannot replay. Here each sample carries its own seed
from the sampler to whichever process loads it:

- :class:`PerSampleSeedSampler` wraps the configured sampler and yields
  :class:`SeededIndex` ``(index, seed)`` with ``seed = sample_seed(run_seed, epoch, rank, position)``;
- :class:`PerSampleSeedDataset` wraps the dataset and computes ``dataset[index]`` with python's
  ``random``, numpy's global generator and torch's CPU generator seeded from ``seed``, restoring
  them afterwards (so loading in the training process draws nothing from its streams);
- :func:`seeded_train_loader` rebuilds an MMEngine-built DataLoader around the two.

:func:`workers_die_with_parent` (used for every loader ``DWPoseRunner`` builds) has workers killed
when the training process dies (Linux ``PR_SET_PDEATHSIG``), even by ``kill -9``.

A sample's augmentation thus depends only on (seed, epoch, rank, position in the epoch), whatever
``num_workers``, ``persistent_workers`` or the point at which the run was resumed.
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import sys
from contextlib import contextmanager
from functools import partial
from typing import Any, Callable, Iterator, NamedTuple, Optional

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class SeededIndex(NamedTuple):
    """A dataset index and the seed its augmentation draws from."""

    index: int
    seed: int


def sample_seed(seed: int, epoch: int, rank: int, position: int) -> int:
    """A 64-bit seed for the sample at ``position`` of ``rank``'s share of epoch ``epoch``."""
    words = np.random.SeedSequence([seed % 2**64, epoch, rank, position]).generate_state(2)
    return int(words[0]) << 32 | int(words[1])


@contextmanager
def seeded_rngs(seed: int) -> Iterator[None]:
    """Seed ``random``, ``numpy.random`` and torch's CPU generator; restore all three on exit."""
    py_state, np_state, torch_state = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed([seed & 0xFFFFFFFF, seed >> 32])
    torch.default_generator.manual_seed(seed)  # CPU only: CUDA streams stay untouched
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)


class PerSampleSeedDataset(Dataset):
    """``wrapper[SeededIndex(i, s)]`` is ``dataset[i]`` computed under :func:`seeded_rngs` ``(s)``.

    Every other attribute is read from and written to the wrapped dataset, so hooks that read
    ``loader.dataset.metainfo`` or assign ``loader.dataset.pipeline`` (``PipelineSwitchHook``)
    behave as without the wrapper. A plain integer index is passed through unseeded.
    """

    def __init__(self, dataset: Any) -> None:
        object.__setattr__(self, "dataset", dataset)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: int | SeededIndex) -> Any:
        if isinstance(key, SeededIndex):
            with seeded_rngs(key.seed):
                return self.dataset[key.index]
        return self.dataset[key]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "dataset":  # no dunder protocols (e.g. __getitems__)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.dataset, name, value)


class PerSampleSeedSampler(Sampler):
    """Yields ``SeededIndex(index, sample_seed(seed, epoch, rank, position))`` for ``sampler``'s indices.

    Args:
        sampler: the configured sampler (e.g. MMEngine's ``DefaultSampler``); it decides the order.
        seed: the run's seed.
        rank: this process's rank.
    """

    def __init__(self, sampler: Sampler, seed: int, rank: int = 0) -> None:
        self.sampler, self.seed, self.rank = sampler, int(seed), int(rank)
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (``DistSamplerSeedHook`` calls this too); passed on to ``sampler``."""
        self.epoch = int(epoch)
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def skip_next(self, num_samples: int) -> None:
        """Start the next pass ``num_samples`` into the epoch (a resume from inside an epoch)."""
        self._skip = int(num_samples)

    def __iter__(self) -> Iterator[SeededIndex]:
        skip, self._skip = self._skip, 0
        for position, index in enumerate(self.sampler):
            if position >= skip:
                yield SeededIndex(int(index), sample_seed(self.seed, self.epoch, self.rank, position))

    def __len__(self) -> int:
        return len(self.sampler)


def die_with_parent(parent_pid: int) -> None:
    """Have Linux SIGKILL this process when ``parent_pid`` (its parent) dies; no-op elsewhere.

    The signal follows the death of the parent *thread* that forked this process: DataLoader
    workers are forked by the thread that iterates the loader, the training process's main thread.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _init_worker(worker_id: int, parent_pid: int, then: Optional[Callable[[int], None]]) -> None:
    die_with_parent(parent_pid)
    if then is not None:
        then(worker_id)


def workers_die_with_parent(worker_init_fn: Optional[Callable[[int], None]]) -> Callable[[int], None]:
    """A ``worker_init_fn`` that calls :func:`die_with_parent`, then ``worker_init_fn`` (if any)."""
    if isinstance(worker_init_fn, partial) and worker_init_fn.func is _init_worker:
        return worker_init_fn
    return partial(_init_worker, parent_pid=os.getpid(), then=worker_init_fn)


def seeded_train_loader(loader: DataLoader, seed: int, rank: int = 0) -> DataLoader:
    """``loader`` rebuilt around :class:`PerSampleSeedDataset` and :class:`PerSampleSeedSampler`.

    All other settings are kept. A loader with its own batch sampler (e.g. an aspect-ratio
    grouping one, which reads the indices) is returned as it is.
    """
    batches = loader.batch_sampler
    if type(batches) is not BatchSampler or batches.sampler is not loader.sampler:
        return loader
    options = dict(batch_size=loader.batch_size, drop_last=loader.drop_last,
                   num_workers=loader.num_workers, collate_fn=loader.collate_fn,
                   pin_memory=loader.pin_memory, timeout=loader.timeout,
                   worker_init_fn=loader.worker_init_fn,
                   multiprocessing_context=loader.multiprocessing_context, generator=loader.generator,
                   prefetch_factor=loader.prefetch_factor, persistent_workers=loader.persistent_workers,
                   pin_memory_device=loader.pin_memory_device)
    if hasattr(loader, "in_order"):
        options["in_order"] = loader.in_order
    return DataLoader(PerSampleSeedDataset(loader.dataset),
                      sampler=PerSampleSeedSampler(loader.sampler, seed, rank), **options)
