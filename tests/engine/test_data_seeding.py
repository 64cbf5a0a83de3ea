"""Per-sample augmentation seeds: a sample's random draws depend on (seed, epoch, rank, position)
only, whichever process loads it and whatever was drawn before; workers die with their parent."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler
from torch.utils.data import DataLoader, Dataset

from dwpose.engine.data_seeding import (
    PerSampleSeedDataset,
    PerSampleSeedSampler,
    SeededIndex,
    sample_seed,
    seeded_rngs,
    seeded_train_loader,
    workers_die_with_parent,
)

REPO = Path(__file__).resolve().parents[2]


class RandomAugment(Dataset):
    """Each item draws from python's, numpy's and torch's global generators, like a pipeline."""

    pipeline = "original"

    def __len__(self) -> int:
        return 10

    def __getitem__(self, idx: int) -> torch.Tensor:
        return torch.tensor([idx, random.random(), np.random.rand(), torch.rand(1).item()],
                            dtype=torch.float64)


def _global_draws() -> tuple:
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_sample_seed_is_a_pure_function_of_its_key():
    assert sample_seed(21, 3, 0, 5) == sample_seed(21, 3, 0, 5) == 14440717896627075331
    keys = [(21, 3, 0, 5), (22, 3, 0, 5), (21, 4, 0, 5), (21, 3, 1, 5), (21, 3, 0, 6)]
    assert len({sample_seed(*k) for k in keys}) == len(keys)
    assert 0 <= sample_seed(-1, 0, 0, 0) < 2**64


def test_seeded_item_ignores_and_keeps_the_global_streams():
    data = PerSampleSeedDataset(RandomAugment())
    key = SeededIndex(3, sample_seed(0, 0, 0, 3))
    first = data[key]
    _global_draws()  # what a training step, or another sample, would draw
    torch.manual_seed(123)
    assert torch.equal(data[key], first)
    assert not torch.equal(data[SeededIndex(3, key.seed + 1)], first)

    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    data[key]
    after = _global_draws()
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    assert after == _global_draws(), "loading a sample moved the global generators"


def test_seeded_rngs_restores_on_error():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    with pytest.raises(RuntimeError, match="boom"), seeded_rngs(1):
        raise RuntimeError("boom")
    assert torch.equal(torch.rand(3), expected)


def test_dataset_wrapper_is_transparent():
    inner = RandomAugment()
    data = PerSampleSeedDataset(inner)
    assert len(data) == 10 and data.pipeline == "original"
    data.pipeline = "switched"  # what PipelineSwitchHook does to loader.dataset
    assert inner.pipeline == "switched" and "pipeline" not in vars(data)
    inner.__getitems__ = lambda idx: 1 / 0  # a batched fetch would bypass the seeding
    assert not hasattr(data, "__getitems__")
    assert data[2][0] == 2  # plain indices pass through


class _Order:
    """A stand-in for DefaultSampler: a fixed order and a recorded epoch."""

    def __init__(self, order):
        self.order, self.epoch = order, None

    def __iter__(self):
        return iter(self.order)

    def __len__(self):
        return len(self.order)

    def set_epoch(self, epoch):
        self.epoch = epoch


def test_sampler_seeds_by_epoch_rank_and_position_and_skips_one_pass():
    inner = _Order([4, 0, 3, 1])
    sampler = PerSampleSeedSampler(inner, seed=21, rank=1)
    sampler.set_epoch(2)
    assert inner.epoch == 2
    full = list(sampler)
    assert [k.index for k in full] == [4, 0, 3, 1]
    assert [k.seed for k in full] == [sample_seed(21, 2, 1, p) for p in range(4)]
    sampler.skip_next(3)
    assert list(sampler) == full[3:]
    assert list(sampler) == full, "a skip applies to one pass only"


def _epochs(loader, epochs=2) -> list:
    out = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        out.append(torch.cat(list(loader)))
    return out


def test_loader_gives_the_same_augmentation_with_or_without_persistent_workers():
    def build(num_workers, persistent):
        torch.manual_seed(num_workers)  # different worker seeds: must not matter
        data = RandomAugment()
        base = DataLoader(data, batch_size=3, sampler=DefaultSampler(data, shuffle=True, seed=0),
                          num_workers=num_workers, persistent_workers=persistent)
        return seeded_train_loader(base, seed=21)

    main = _epochs(build(0, False))
    assert not torch.equal(main[0], main[1]), "epochs must not repeat their augmentation"
    for other in (_epochs(build(2, True)), _epochs(build(1, False))):
        assert all(torch.equal(a, b) for a, b in zip(main, other))


def _seed_worker(worker_id: int) -> None:  # stands in for MMEngine's worker_init_fn
    torch.manual_seed(1234 + worker_id)


class WorkerSeed(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, idx: int) -> int:
        return torch.initial_seed()


def test_worker_init_keeps_the_configured_one_and_is_added_once():
    init = workers_die_with_parent(_seed_worker)
    assert workers_die_with_parent(init) is init
    loader = DataLoader(WorkerSeed(), batch_size=2, num_workers=1, worker_init_fn=init)
    assert torch.cat(list(loader)).tolist() == [1234, 1234]


_ORPHAN_SCRIPT = textwrap.dedent("""
    import sys, time
    from torch.utils.data import DataLoader, Dataset
    from dwpose.engine.data_seeding import workers_die_with_parent

    class Slow(Dataset):
        def __len__(self):
            return 4
        def __getitem__(self, idx):
            if idx:
                time.sleep(120)  # a worker busy (or blocked on a pipe) when its parent is killed
            return idx

    loader = DataLoader(Slow(), batch_size=1, num_workers=1, persistent_workers=True,
                        worker_init_fn=workers_die_with_parent(None))
    it = iter(loader)
    print(loader._iterator._workers[0].pid, flush=True)
    next(it), next(it)  # the second waits for the slow sample until the test kills this process
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_workers_die_with_a_killed_parent():
    proc = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    worker = int(proc.stdout.readline())
    assert _alive(worker)
    time.sleep(0.5)  # the worker is now inside the slow __getitem__
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 5
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.05)
    alive = _alive(worker)
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the DataLoader worker outlived its killed parent"
