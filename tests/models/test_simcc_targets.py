"""SimCC labels made for the whole batch by SimCCTargetPreprocessor equal mmpose's per-sample ones.

The reference is mmpose itself: ``GenerateTarget(encoder=SimCCLabel(...))`` + ``PackPoseInputs`` on
the same transformed samples (real COCO photos through the configs' own augmentations, so some
keypoints leave the crop), or ``SimCCLabel.encode`` on hand-placed edge cases.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import List

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model.utils import revert_sync_batchnorm

from tests.mmpose_helpers import LABEL_KEYS, apply_seeded, mini_dataset
from tests.mmpose_helpers import enter_mmpose_scope as _mmpose_scope

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "configs/_base_"
RTMPOSE_T = (REPO / "configs/wholebody_2d_keypoint/rtmpose/ubody"
             / "rtmpose-t_8xb64-270e_coco-ubody-wholebody-256x192.py")


@pytest.fixture(autouse=True)
def _in_mmpose_scope():
    """Every test builds mmpose transforms and models: start each in the mmpose scope."""
    _mmpose_scope()


_dataset = mini_dataset


def _augmented(cfg: Config, coco_mini: Path, passes: int, seed: int = 0) -> List[dict]:
    """The config's training transforms up to (not including) packing, on every real person."""
    from mmpose.registry import TRANSFORMS

    _mmpose_scope()
    pack = len(cfg.pack_train_inputs)
    transforms = [TRANSFORMS.build(t) for t in cfg.train_pipeline[:-pack]]
    assert [t["type"] for t in cfg.train_pipeline[-pack:]] == ["LeanPackPoseInputs"]
    return apply_seeded(_dataset(coco_mini), transforms, passes, seed)


def _mmpose_batch(results: List[dict], codec: dict, **generate_kwargs) -> dict:
    """mmpose's way: GenerateTarget + PackPoseInputs per sample, then PoseDataPreprocessor."""
    from mmpose.registry import MODELS, TRANSFORMS

    generate = TRANSFORMS.build(dict(type="GenerateTarget", encoder=codec, **generate_kwargs))
    pack = TRANSFORMS.build(dict(type="PackPoseInputs"))
    batch = pseudo_collate([pack(generate(copy.deepcopy(r))) for r in results])
    prep = MODELS.build(dict(type="PoseDataPreprocessor", mean=[123.675, 116.28, 103.53],
                             std=[58.395, 57.12, 57.375], bgr_to_rgb=True))
    return prep(batch, training=True)


def _our_batch(results: List[dict], preprocessor: dict, **pack_kwargs) -> dict:
    """Ours: LeanPackPoseInputs per sample, then SimCCTargetPreprocessor makes the labels."""
    from mmpose.registry import MODELS, TRANSFORMS

    pack = TRANSFORMS.build(dict(type="LeanPackPoseInputs", **pack_kwargs))
    batch = pseudo_collate([pack(copy.deepcopy(r)) for r in results])
    assert all("keypoint_x_labels" not in s.get("gt_instance_labels", {}) for s in batch["data_samples"])
    return MODELS.build(preprocessor)(batch, training=True)


def _labels(batch: dict, key: str) -> torch.Tensor:
    return torch.cat([s.gt_instance_labels[key] for s in batch["data_samples"]])


def _assert_same_labels(ours: dict, ref: dict) -> None:
    assert torch.equal(ours["inputs"], ref["inputs"])
    for key in LABEL_KEYS:
        a, b = _labels(ours, key), _labels(ref, key)
        assert a.dtype == b.dtype and a.shape == b.shape, key
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=key)
    for s_ours, s_ref in zip(ours["data_samples"], ref["data_samples"]):
        assert set(s_ours.gt_instance_labels.keys()) == set(s_ref.gt_instance_labels.keys())


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch and one OpenCV thread, as in a data worker (and far faster on shared cores)."""
    import cv2

    before = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    yield
    torch.set_num_threads(before[0])
    cv2.setNumThreads(before[1])


@pytest.fixture(scope="module")
def real_256(coco_mini):
    """Two augmented passes over the 12 labelled people of the mini set, with the 256x192 recipe."""
    cfg = Config.fromfile(str(BASE / "rtmpose_coco-ubody-wholebody_256x192.py"))
    return cfg, _augmented(cfg, coco_mini, passes=2)


@pytest.mark.parametrize("res", ["256x192", "384x288"])
def test_batched_labels_equal_mmpose_on_real_crops(res, real_256, coco_mini):
    if res == "256x192":
        cfg, results = real_256
    else:
        cfg = Config.fromfile(str(BASE / f"rtmpose_coco-ubody-wholebody_{res}.py"))
        results = _augmented(cfg, coco_mini, passes=1, seed=1)
    assert cfg.model.data_preprocessor.type == "SimCCTargetPreprocessor"
    ours = _our_batch(results, cfg.model.data_preprocessor)
    ref = _mmpose_batch(results, cfg.codec)
    _assert_same_labels(ours, ref)
    # the cases that matter happened: labelled points pushed out of the crop, unlabelled points
    visible = np.concatenate([r["keypoints_visible"] for r in results])
    weights = _labels(ref, "keypoint_weights").numpy()
    assert ((visible >= 0.5) & (weights == 0)).sum() >= 10
    assert (visible < 0.5).sum() > 0 and (weights > 0).sum() > (visible >= 0.5).sum() / 2
    w, h = cfg.input_size
    assert _labels(ours, "keypoint_x_labels").shape[1:] == (133, 2 * w)
    assert _labels(ours, "keypoint_y_labels").shape[1:] == (133, 2 * h)


def test_dataset_keypoint_weights_as_mmpose(real_256):
    cfg, results = real_256
    rng = np.random.default_rng(0)
    results = copy.deepcopy(results[:6])
    joint_weights = rng.uniform(0.5, 2.0, size=133).astype(np.float32)
    for r in results:
        r["dataset_keypoint_weights"] = joint_weights
    prep = dict(cfg.model.data_preprocessor, use_dataset_keypoint_weights=True)
    ours = _our_batch(results, prep, meta_keys=("input_size", "dataset_keypoint_weights"))
    ref = _mmpose_batch(results, cfg.codec, use_dataset_keypoint_weights=True)
    _assert_same_labels(ours, ref)
    with pytest.raises(ValueError, match="add it to the packer's meta_keys"):
        _our_batch(results, prep)


@pytest.mark.parametrize("codec", [
    dict(input_size=(96, 128), sigma=(2.45, 2.83), normalize=False),  # the demo's
    dict(input_size=(192, 256), sigma=(4.9, 5.66), normalize=True),
    dict(input_size=(288, 384), sigma=6.0, normalize=False, simcc_split_ratio=1.5),
], ids=["demo", "normalized", "scalar-sigma"])
def test_edge_cases_equal_the_mmpose_codec(codec):
    """Keypoints swept across each 3-sigma border and half-bins; visibility 0, 0.3, 0.5, 1, 2."""
    from mmpose.codecs import SimCCLabel

    from dwpose.models.simcc_targets import BatchSimCCLabel

    codec = {"type": "SimCCLabel", "simcc_split_ratio": 2.0, "use_dark": False, **codec}
    mm = SimCCLabel(**{k: v for k, v in codec.items() if k != "type"})
    ours = BatchSimCCLabel.from_codec(codec)
    w, h = codec["input_size"]
    margin = 3 * max(np.atleast_1d(codec["sigma"])) / codec["simcc_split_ratio"] + 2
    rng = np.random.default_rng(0)
    coords = np.arange(-margin, max(w, h) + margin, 0.25, dtype=np.float32)  # hits x.5 bins exactly
    n = -(-len(coords) // 133)
    xs = np.resize(coords, (n, 133))
    ys = np.resize(rng.permutation(coords), (n, 133))
    kpts = np.stack([xs, ys], axis=-1).astype(np.float32)
    vis = rng.choice(np.array([0, 0.3, 0.5, 1, 2], dtype=np.float32), size=(n, 133))
    x, y, wts = ours(torch.from_numpy(kpts), torch.from_numpy(vis))
    ref = [mm.encode(kpts[i:i + 1], vis[i:i + 1]) for i in range(n)]
    for got, key in ((x, "keypoint_x_labels"), (y, "keypoint_y_labels"), (wts, "keypoint_weights")):
        want = torch.from_numpy(np.concatenate([r[key] for r in ref]))
        assert got.dtype == want.dtype
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6, msg=key)
    pushed_out = (vis >= 0.5) & (wts.numpy() == 0)
    assert pushed_out.any() and (wts.numpy() > 0).any()


def test_loss_is_the_same_both_ways(real_256):
    """RTMCCHead's loss (KLDiscretLoss, label_softmax) and accuracy on one fixed model and batch."""
    from mmpose.registry import MODELS

    cfg, results = real_256
    results = results[:8]
    model_cfg = Config.fromfile(str(RTMPOSE_T)).model
    _mmpose_scope()
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    model.init_weights()
    assert type(model.data_preprocessor).__name__ == "SimCCTargetPreprocessor"
    model.train()
    losses = []
    with torch.no_grad():
        for batch in (_mmpose_batch(results, cfg.codec), _our_batch(results, model_cfg.data_preprocessor)):
            losses.append(model(batch["inputs"], batch["data_samples"], mode="loss"))
    assert losses[0]["loss_kpt"] > 0
    for key in ("loss_kpt", "acc_pose"):
        torch.testing.assert_close(losses[1][key], losses[0][key], rtol=0, atol=1e-6, msg=key)


def test_clear_errors_for_pipelines_that_do_not_fit(real_256):
    from mmpose.registry import MODELS, TRANSFORMS

    from dwpose.models.simcc_targets import BatchSimCCLabel

    cfg, results = real_256
    stock = pseudo_collate([TRANSFORMS.build(dict(type="PackPoseInputs"))(copy.deepcopy(results[0]))])
    prep = MODELS.build(cfg.model.data_preprocessor)
    with pytest.raises(ValueError, match="end the training pipeline with LeanPackPoseInputs"):
        prep(stock, training=True)
    assert prep(stock, training=False)["inputs"].shape == (1, 3, 256, 192)  # evaluation: no labels needed
    # labelled in the pipeline (GenerateTarget + PackPoseInputs): those labels are kept as they are
    made = TRANSFORMS.build(dict(type="GenerateTarget", encoder=cfg.codec))(copy.deepcopy(results[0]))
    labelled = pseudo_collate([TRANSFORMS.build(dict(type="PackPoseInputs"))(made)])
    before = labelled["data_samples"][0].gt_instance_labels.keypoint_x_labels.clone()
    after = prep(labelled, training=True)["data_samples"][0].gt_instance_labels.keypoint_x_labels
    assert torch.equal(before, after)
    untransformed = {k: v for k, v in results[0].items() if k != "transformed_keypoints"}
    with pytest.raises(ValueError, match="put TopdownAffine before it"):
        TRANSFORMS.build(dict(type="LeanPackPoseInputs"))(untransformed)
    with pytest.raises(ValueError, match="Gaussian smoothing"):
        BatchSimCCLabel.from_codec(dict(type="SimCCLabel", input_size=(48, 64), smoothing_type="standard"))


def test_distiller_makes_the_student_targets_once(real_256):
    """TwoStageDistiller runs its (the student config's) preprocessor once per step: same losses."""
    from mmengine.optim import build_optim_wrapper
    from mmpose.registry import TRANSFORMS

    from dwpose.distiller.model import TwoStageDistiller
    from tests.distiller.helpers import STUDENT_CFG, TEACHER_CFG, set_epoch

    _, results = real_256
    codec = Config.fromfile(STUDENT_CFG).codec  # 64x48: labels from the real keypoints rescaled
    scaled = copy.deepcopy(results[:4])
    for r in scaled:
        r["img"] = np.ascontiguousarray(r["img"][::4, ::4])
        r["transformed_keypoints"] = r["transformed_keypoints"] / 4
    prep = dict(type="SimCCTargetPreprocessor", codec=codec, mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
    _mmpose_scope()
    set_epoch(0, 10)
    torch.manual_seed(0)
    model = TwoStageDistiller(TEACHER_CFG, STUDENT_CFG, teacher_ckpt=None, stage=1, feature_alpha=7e-5,
                              logit_weight=0.1, data_preprocessor=prep)
    model.train()
    calls = []
    encoder = model.data_preprocessor.encoder
    model.data_preprocessor.encoder = lambda *a: calls.append(1) or encoder(*a)
    ref = _mmpose_batch(scaled, codec)
    with torch.no_grad():
        want = model.loss(ref["inputs"], ref["data_samples"])
    pack = TRANSFORMS.build(dict(type="LeanPackPoseInputs"))
    batch = pseudo_collate([pack(copy.deepcopy(r)) for r in scaled])
    optim = build_optim_wrapper(model, dict(optimizer=dict(type="SGD", lr=0.0)))
    got = model.train_step(batch, optim)
    assert len(calls) == 1
    for key in ("loss_kpt", "loss_fea", "loss_logit", "acc_pose"):
        torch.testing.assert_close(got[key], want[key], rtol=0, atol=1e-6, msg=key)


def test_distiller_configs_use_the_student_preprocessor():
    from dwpose.engine.config import load_model_config

    for path in (REPO / "configs/distiller").rglob("*256x192.py"):
        if not path.name.startswith(("rtmpose_x_dis_l", "dwpose_l-ll")):
            continue
        cfg = Config.fromfile(str(path))
        assert cfg.model.get("data_preprocessor") is None  # the distiller takes the student's
        student = load_model_config(cfg.model.student_cfg)
        assert student.model.data_preprocessor.type == "SimCCTargetPreprocessor"
        assert student.model.data_preprocessor.codec == student.codec == student.model.head.decoder
        assert cfg.train_pipeline[-1] == dict(type="LeanPackPoseInputs")


def test_short_training_run_with_the_lean_pipeline(coco_mini, tmp_path):
    """DWPoseRunner trains the RTMPose-t recipe config as written (lean packing, labels in the
    preprocessor, EMA, pipeline switch) for one epoch of three batches on the real photos."""
    from mmengine.hooks import Hook

    from dwpose.engine.runner import DWPoseRunner

    class Recorder(Hook):
        def before_train(self, runner) -> None:
            self.start = {n: p.detach().clone() for n, p in runner.model.named_parameters()}
            self.losses, self.packed_labels = [], 0

        def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
            # as the data loader delivers the batch (the preprocessor adds labels to it later)
            self.packed_labels += sum("keypoint_x_labels" in s.gt_instance_labels
                                      for s in data_batch["data_samples"] if "gt_instance_labels" in s)

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            self.losses.append(float(outputs["loss_kpt"]))

    _mmpose_scope()
    cfg = Config.fromfile(str(RTMPOSE_T))
    assert cfg.train_pipeline[-1] == cfg.train_pipeline_stage2[-1] == dict(type="LeanPackPoseInputs")
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader = dict(
        batch_size=4, num_workers=0, persistent_workers=False,
        sampler=dict(type="DefaultSampler", shuffle=True),
        dataset=dict(type="CocoWholeBodyDataset", data_root=str(coco_mini), data_mode="topdown",
                     ann_file="coco_wholebody_mini.json", data_prefix=dict(img="images/"),
                     pipeline=cfg.train_pipeline))
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    for phase in ("val", "test"):
        cfg[f"{phase}_dataloader"] = cfg[f"{phase}_cfg"] = cfg[f"{phase}_evaluator"] = None
    cfg.default_hooks.checkpoint = dict(type="CheckpointHook", interval=1)
    cfg.default_hooks.logger.interval = 1
    cfg.visualizer.vis_backends = [dict(type="LocalVisBackend")]
    runner = DWPoseRunner.from_cfg(cfg)
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.train()
    assert len(recorder.losses) == 3 and all(np.isfinite(recorder.losses)) and min(recorder.losses) > 0
    assert recorder.packed_labels == 0  # the labels came from the preprocessor, not the workers
    moved = [n for n, p in runner.model.named_parameters() if not torch.equal(recorder.start[n], p.detach())]
    assert any(n.startswith("backbone.") for n in moved) and any(n.startswith("head.") for n in moved)
    assert (tmp_path / "epoch_1.pth").is_file()
