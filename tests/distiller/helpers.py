"""Small builders shared by the distiller tests: demo configs, packed batches, plain checkpoints."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TEACHER_CFG = str(HERE / "configs/tiny_teacher.py")  # the demo teacher at 64x48
STUDENT_CFG = str(HERE / "configs/tiny_student.py")  # the (narrower) demo student at 64x48
INPUT_SIZE = (48, 64)  # (w, h)
NUM_KPTS = 133


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """One intra-op thread: tiny models run no slower, and far faster when the cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def wholebody_metainfo() -> dict:
    from mmpose.datasets import CocoWholeBodyDataset
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    return parse_pose_metainfo(CocoWholeBodyDataset.METAINFO)


def make_samples(n: int, seed: int = 0, input_size=INPUT_SIZE) -> List[dict]:
    """``n`` packed top-down samples (what PackPoseInputs yields): uint8 image + SimCC targets.

    Keypoints are random inside the crop; about a quarter are unlabelled (weight 0).
    """
    from mmengine.structures import InstanceData
    from mmpose.codecs import SimCCLabel
    from mmpose.structures import PoseDataSample

    rng = np.random.default_rng(seed)
    w, h = input_size
    codec = SimCCLabel(input_size=input_size, sigma=(1.2, 1.4), simcc_split_ratio=2.0)
    flip = wholebody_metainfo()["flip_indices"]
    samples = []
    for _ in range(n):
        kpts = rng.uniform([0, 0], [w, h], size=(1, NUM_KPTS, 2)).astype(np.float32)
        vis = (rng.uniform(size=(1, NUM_KPTS)) > 0.25).astype(np.float32)
        enc = codec.encode(kpts, vis)
        ds = PoseDataSample(metainfo=dict(input_size=input_size, input_center=np.array([w / 2, h / 2]),
                                          input_scale=np.array([w, h], dtype=np.float32),
                                          flip_indices=flip, img_shape=(h, w)))
        ds.gt_instances = InstanceData(bboxes=np.array([[0, 0, w, h]], dtype=np.float32),
                                       bbox_scores=np.ones(1, dtype=np.float32))
        ds.gt_instance_labels = InstanceData(
            keypoint_x_labels=torch.from_numpy(enc["keypoint_x_labels"]).float(),
            keypoint_y_labels=torch.from_numpy(enc["keypoint_y_labels"]).float(),
            keypoint_weights=torch.from_numpy(enc["keypoint_weights"]).float())
        img = torch.from_numpy(rng.integers(0, 256, size=(3, h, w), dtype=np.uint8))
        samples.append(dict(inputs=img, data_samples=ds))
    return samples


def collate(samples: List[dict]) -> dict:
    from mmengine.dataset import pseudo_collate

    return pseudo_collate(samples)


def preprocess(model, samples: List[dict], training: bool):
    """(inputs (N, 3, H, W), data_samples) after the model's data preprocessor."""
    data = model.data_preprocessor(collate(samples), training)
    return data["inputs"], data["data_samples"]


def set_epoch(epoch: int, max_epochs: int) -> None:
    from mmengine.logging import MessageHub

    hub = MessageHub.get_current_instance()
    hub.update_info("epoch", epoch)
    hub.update_info("max_epochs", max_epochs)


def build_plain(cfg_path: str):
    """A plain pose model from a config, BN instead of SyncBN (CPU)."""
    from dwpose.distiller.build import build_pose_model
    from dwpose.engine.config import load_model_config

    return build_pose_model(load_model_config(cfg_path).model, use_sync_bn=False)


def randomize_bn_stats(model: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial running statistics, so eval-mode BN and folding are really exercised."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


def save_plain_checkpoint(model: torch.nn.Module, path: Path, meta: Optional[dict] = None) -> str:
    torch.save({"meta": meta or {}, "state_dict": model.state_dict()}, path)
    return str(path)


def make_teacher_ckpt(path: Path, cfg_path: str = TEACHER_CFG, seed: int = 0) -> str:
    torch.manual_seed(seed)
    model = build_plain(cfg_path)
    model.init_weights()
    randomize_bn_stats(model, seed)
    return save_plain_checkpoint(model, path)


def state_of(module: torch.nn.Module) -> Dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def differing(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> List[str]:
    assert set(a) == set(b), set(a) ^ set(b)
    return sorted(k for k in a if not torch.equal(a[k], b[k]))


def build_distiller(stage: int, teacher_ckpt, seed: int = 0, **kwargs):
    """A ``TwoStageDistiller`` on the demo configs with the recipe's loss weights for ``stage``."""
    from dwpose.distiller.model import TwoStageDistiller

    args = dict(teacher_cfg=TEACHER_CFG if stage == 1 else STUDENT_CFG, student_cfg=STUDENT_CFG,
                teacher_ckpt=teacher_ckpt, stage=stage)
    args.update(dict(feature_alpha=7e-5, logit_weight=0.1) if stage == 1
                else dict(feature_alpha=0.0, logit_weight=1.0))
    args.update(kwargs)
    torch.manual_seed(seed)
    return TwoStageDistiller(**args)
