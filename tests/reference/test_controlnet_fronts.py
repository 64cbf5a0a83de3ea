"""``--canvas black`` through every front end: ``dwpose predict``, the Cog predictor and the app write
the same PNG bytes, and that picture is the annotator's map (controlnet_aux 0.0.10) resized to the photo.

Poses: a SimCC ONNX model with known peaks on the people the real YOLOX-nano detector finds in a shared
photo; the reference draws the keypoints the same pipeline gives in this process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.app.service import Settings, analyse
from dwpose.inference.controlnet_draw import ControlNetStyle
from dwpose.inference.detectors import load_detector
from dwpose.inference.pipeline import TopDownPipeline
from dwpose.inference.pose_models import load_pose_model
from tests.inference.fakes import simcc_onnx
from tests.reference import controlnet_aux_ref as ref

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
RESOLUTIONS = (512, 0)
COG_SCRIPT = """
import asyncio, shutil, sys, tempfile
import cog
from predict import Predictor
p = Predictor()
p.setup()
for resolution, target in zip(sys.argv[2::2], sys.argv[3::2]):
    with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as f:
        f.write(open(sys.argv[1], "rb").read())
    npz, png = asyncio.run(p.predict(image=cog.Path(f.name), threshold=0.3, canvas="black",
                                     detect_resolution=int(resolution)))
    shutil.copy(png, target)
"""


def _env(**extra) -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", **extra)


@pytest.fixture(scope="module")
def models(tmp_path_factory, weights_dir):
    folder = tmp_path_factory.mktemp("fronts")
    simcc_onnx(folder / "peaks.onnx")
    return folder / "peaks.onnx", weights_dir / "yolox-nano_coco80.onnx"


def test_predict_cog_and_app_write_the_annotators_picture(
    annotator, models, coco_mini, tmp_path, monkeypatch
):
    pytest.importorskip("cog")
    pose, det = models
    photo = tmp_path / "people.jpg"
    shutil.copy(coco_mini / "images" / "000000197388.jpg", photo)
    cog_pngs = [tmp_path / f"cog_{r}.png" for r in RESOLUTIONS]
    cog_args = [str(a) for r, png in zip(RESOLUTIONS, cog_pngs) for a in (r, png)]
    runs = [
        subprocess.Popen([sys.executable, "-m", "dwpose.cli", "predict", str(photo), "--pose", str(pose),
                          "--det", str(det), "--out", str(tmp_path / f"cli_{r}"), "--canvas", "black",
                          "--detect-resolution", str(r)], cwd=REPO, env=_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for r in RESOLUTIONS
    ] + [subprocess.Popen([sys.executable, "-c", COG_SCRIPT, str(photo), *cog_args], cwd=REPO,
                          env=_env(DWPOSE_POSE_MODEL=str(pose), DWPOSE_DET_MODEL=str(det),
                                   TMPDIR=str(tmp_path)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]  # fmt: skip
    pipeline = TopDownPipeline(load_pose_model([str(pose)]), load_detector([str(det)]))
    image = cv2.imread(str(photo))
    result = pipeline(image)
    assert len(result) >= 2
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    height, width = image.shape[:2]
    for resolution, cog_png in zip(RESOLUTIONS, cog_pngs):
        style = ControlNetStyle(detect_resolution=resolution)
        app = analyse(pipeline, photo, tmp_path / f"app_{resolution}", Settings(canvas="black", style=style))
        cli = (tmp_path / f"cli_{resolution}" / "people.png").read_bytes()
        assert app.picture.read_bytes() == cli and cog_png.read_bytes() == cli, resolution
        theirs = ref.run_annotator(annotator, image[..., ::-1].copy(), result.keypoints, result.scores,
                                   resolution, monkeypatch)  # fmt: skip
        expected = cv2.resize(theirs, (width, height), interpolation=cv2.INTER_LINEAR)[..., ::-1]
        drawn = cv2.imread(str(tmp_path / f"cli_{resolution}" / "people.png"))
        assert drawn.shape == image.shape and np.array_equal(drawn, expected), resolution
        assert theirs.any(axis=-1).mean() > 0.01
