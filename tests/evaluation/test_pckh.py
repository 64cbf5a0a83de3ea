"""MPII PCKh on the real MPII mini set (../shared/data/mpii-mini) against mmpose's ``MpiiPCKAccuracy``.

The mini set ships without MPII's head boxes (``mpii_gt_val.mat``); the tests write one with a
square box around each person's upper-neck -> head-top segment, and both mmpose's ``MpiiDataset``
(``headbox_file``) and our reader take the head sizes from that same file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dwpose.evaluation.pckh import (
    MPII_JOINTS,
    format_pckh_table,
    load_mpii_gt,
    load_mpii_results,
    mpii_pckh,
)


@pytest.fixture(scope="module")
def mpii_mini(shared_dir: Path) -> Path:
    from tests.conftest import require_shared

    d = require_shared(shared_dir / "data" / "mpii-mini", "MPII mini set")
    return require_shared(d / "test_mpii.json", "MPII mini annotations", kind="file").parent


@pytest.fixture(scope="module")
def headbox_mat(mpii_mini: Path, tmp_path_factory) -> str:
    from scipy.io import savemat

    anns = json.loads((mpii_mini / "test_mpii.json").read_text())
    boxes = []
    for a in anns:
        neck, top = np.array(a["joints"][8]), np.array(a["joints"][9])
        half = np.linalg.norm(top - neck) / 2
        mid = (neck + top) / 2
        boxes.append([mid - half, mid + half])
    path = tmp_path_factory.mktemp("mpii") / "headboxes.mat"
    savemat(path, {"headboxes_src": np.transpose(np.array(boxes), [1, 2, 0])})  # (2, 2, N)
    return str(path)


def _predictions(gt: np.ndarray, head: np.ndarray, seed: int) -> np.ndarray:
    """0-based predictions at 0.05 to 1.0 head sizes from the ground truth: some right, some wrong."""
    rng = np.random.default_rng(seed)
    radius = rng.uniform(0.05, 1.0, size=gt.shape[:2]) * head[:, None]
    angle = rng.uniform(0, 2 * np.pi, size=gt.shape[:2])
    offset = np.stack([np.cos(angle), np.sin(angle)], axis=-1) * radius[..., None]
    return gt - 1.0 + offset


def _mmpose_scores(mpii_mini: Path, headbox_mat: str, pred: np.ndarray) -> dict:
    from mmengine.registry import init_default_scope
    from mmpose.datasets import MpiiDataset
    from mmpose.evaluation.metrics import MpiiPCKAccuracy

    init_default_scope("mmpose")
    ds = MpiiDataset(data_root=str(mpii_mini), ann_file="test_mpii.json", data_prefix=dict(img=""),
                     headbox_file=headbox_mat, test_mode=True, pipeline=[])
    metric = MpiiPCKAccuracy(thr=0.5, norm_item="head")
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        gt = dict(keypoints=info["keypoints"], keypoints_visible=info["keypoints_visible"],
                  head_size=info["head_size"])
        metric.process([], [dict(gt_instances=gt, pred_instances=dict(keypoints=pred[i:i + 1]))])
    return metric.compute_metrics(metric.results), ds


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pckh_equals_mmpose_mpii_pck_accuracy(mpii_mini, headbox_mat, seed):
    gt = load_mpii_gt(str(mpii_mini / "test_mpii.json"), headbox_mat)
    pred = _predictions(gt["keypoints"], gt["head_size"], seed)
    ref, ds = _mmpose_scores(mpii_mini, headbox_mat, pred)
    # the same head sizes as mmpose's dataset reads from the .mat
    np.testing.assert_allclose(gt["head_size"],
                               [ds.get_data_info(i)["head_size"].item() for i in range(len(ds))])
    ours = mpii_pckh(pred, gt["keypoints"], gt["visible"], gt["head_size"])
    for title in ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle"):
        assert ours[title] == pytest.approx(float(ref[f"{title} PCK"]), abs=1e-6), title
    assert ours["Mean"] == pytest.approx(float(ref["PCK"]), abs=1e-6)
    # mmpose keeps its threshold sweep in float32: agreement to float32 precision of a percentage
    assert ours["Mean@0.1"] == pytest.approx(float(ref["PCK@0.1"]), abs=1e-4)
    assert 0 < ours["Mean"] < 100  # the predictions are neither all right nor all wrong


def test_pckh_by_hand():
    """Two people, head size 10: distances 4 (in), 6 (out at 0.5) and one invisible joint."""
    gt = np.full((2, 16, 2), 50.0)
    pred = gt - 1.0  # 0-based: exactly on the joint
    pred[0, 9] += [4.0, 0.0]  # head top 0.4 head sizes away: correct
    pred[1, 9] += [0.0, 6.0]  # 0.6 head sizes away: wrong
    visible = np.ones((2, 16))
    visible[1, 0] = 0  # r_ankle of person 2 does not count
    pred[1, 0] += 100.0
    scores = mpii_pckh(pred, gt, visible, np.array([10.0, 10.0]))
    assert scores["PCKh/head_top"] == 50.0 and scores["Head"] == 50.0
    assert scores["PCKh/r_ankle"] == 100.0
    # mean over 14 joints (pelvis, thorax out), weighted by counts: 27 counted, 26 correct
    assert scores["Mean"] == pytest.approx(100 * 26 / 27)
    assert set(MPII_JOINTS) == {k.split("/")[1] for k in scores if k.startswith("PCKh/")}


def test_table_and_results_reader(mpii_mini, headbox_mat, tmp_path):
    gt = load_mpii_gt(str(mpii_mini / "test_mpii.json"), headbox_mat)
    pred = _predictions(gt["keypoints"], gt["head_size"], 0)
    results = [{"image": im, "keypoints": p.tolist()} for im, p in zip(gt["images"], pred)]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    np.testing.assert_allclose(load_mpii_results(str(path), gt["images"]), pred)
    table = format_pckh_table(mpii_pckh(pred, gt["keypoints"], gt["visible"], gt["head_size"]))
    header = "| Model | Head | Shoulder | Elbow | Wrist | Hip | Knee | Ankle | Mean | Mean@0.1 |"
    assert table.splitlines()[0] == header
    path.write_text(json.dumps(results[::-1]))
    with pytest.raises(ValueError, match="keep the annotation order"):
        load_mpii_results(str(path), gt["images"])
    with pytest.raises(ValueError, match="PCKh needs head sizes"):
        load_mpii_gt(str(mpii_mini / "test_mpii.json"))


def test_metric_class_matches_mmpose_on_the_same_samples(mpii_mini, headbox_mat):
    from dwpose.evaluation.pckh_metric import MpiiPCKhTableMetric

    gt = load_mpii_gt(str(mpii_mini / "test_mpii.json"), headbox_mat)
    pred = _predictions(gt["keypoints"], gt["head_size"], 3)
    ref, ds = _mmpose_scores(mpii_mini, headbox_mat, pred)
    metric = MpiiPCKhTableMetric()
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        sample = dict(gt_instances=dict(keypoints=info["keypoints"], head_size=info["head_size"],
                                        keypoints_visible=info["keypoints_visible"]),
                      pred_instances=dict(keypoints=pred[i:i + 1]))
        metric.process([], [sample])
    got = metric.evaluate(len(ds))
    assert got["mpii/Mean"] == pytest.approx(float(ref["PCK"]), abs=1e-6)
    assert got["mpii/Wrist"] == pytest.approx(float(ref["Wrist PCK"]), abs=1e-6)
    assert len([k for k in got if k.startswith("mpii/PCKh/")]) == 16


def test_dwpose_eval_prints_the_pckh_table(mpii_mini, headbox_mat, tmp_path, capsys):
    from dwpose.cli import main

    gt = load_mpii_gt(str(mpii_mini / "test_mpii.json"), headbox_mat)
    pred = _predictions(gt["keypoints"], gt["head_size"], 1)
    path = tmp_path / "results.json"
    results = [{"image": im, "keypoints": p.tolist()} for im, p in zip(gt["images"], pred)]
    path.write_text(json.dumps(results))
    ann = str(mpii_mini / "test_mpii.json")
    assert main(["eval", ann, str(path), "--headbox", headbox_mat]) == 0
    scores = mpii_pckh(pred, gt["keypoints"], gt["visible"], gt["head_size"])
    row = capsys.readouterr().out.strip().splitlines()[-1]
    assert row == f"| all | {scores['Head']:.1f} | {scores['Shoulder']:.1f} | {scores['Elbow']:.1f} | " \
        f"{scores['Wrist']:.1f} | {scores['Hip']:.1f} | {scores['Knee']:.1f} | {scores['Ankle']:.1f} | " \
        f"{scores['Mean']:.1f} | {scores['Mean@0.1']:.1f} |"
    assert main(["eval", ann, str(path), "--json", "--headbox", headbox_mat]) == 0
    assert json.loads(capsys.readouterr().out)["Mean"] == pytest.approx(scores["Mean"])
    assert main(["eval", ann, str(path)]) == 2  # no head boxes: one error line
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dwpose: error: PCKh needs head sizes")


def test_tools_test_prints_pckh_on_the_mpii_mini_set(mpii_mini, headbox_mat, tmp_path, capsys):
    """``tools/test.py`` with the MPII student config on the 5 real photos: PCKh table == mmpose's PCK."""
    import torch

    import dwpose.plugin  # noqa: F401
    from dwpose.engine.test import parse_args, test
    from tests.distiller.helpers import REPO, build_plain, save_plain_checkpoint

    cfg = str(REPO / "configs/body_2d_keypoint/simcc/mpii"
              / "simcc_mobilenetv2_wo-deconv_8xb64-270e_mpii-256x256.py")
    torch.manual_seed(0)
    model = build_plain(cfg)
    model.init_weights()
    ckpt = save_plain_checkpoint(model, tmp_path / "mpii.pth")
    args = parse_args([cfg, ckpt, "--work-dir", str(tmp_path / "work"), "--cfg-options",
                       f"test_dataloader.dataset.data_root={mpii_mini}/",
                       "test_dataloader.dataset.ann_file=test_mpii.json",
                       "test_dataloader.dataset.data_prefix.img=",
                       f"test_dataloader.dataset.headbox_file={headbox_mat}",
                       "test_dataloader.num_workers=0", "test_dataloader.persistent_workers=False",
                       "test_dataloader.batch_size=5"])
    args.cfg_options["test_evaluator"] = [dict(type="MpiiPCKhTableMetric"), dict(type="MpiiPCKAccuracy")]
    metrics = test(args)
    assert metrics["mpii/Mean"] == pytest.approx(metrics["PCK"], abs=1e-6)
    out = capsys.readouterr().out
    assert "| Model | Head | Shoulder | Elbow | Wrist | Hip | Knee | Ankle | Mean | Mean@0.1 |" in out
    assert (tmp_path / "work" / "work_pckh_table.md").is_file()
