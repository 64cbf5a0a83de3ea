"""fast_decode_warp (dwpose/datasets/decode_warp.py) against mmpose's LoadImage + RandomFlip + TopdownAffine.

The reference is mmpose itself, run on the real COCO photos of ../shared with the same seeds. The
keypoints and SimCC labels must be bitwise mmpose's; the crops may differ by interpolation only:
- full-size decode (``max_reduction=1``): the flip folded into the warp matrix moves OpenCV's 1/32-pixel
  fixed-point sample positions by a rounding step at most: ``R1_MAX_DIFF`` / ``R1_MEAN_DIFF``;
- reduced decode (r = 2, 4, 8): the crop samples libjpeg's r x r block means instead of single photo
  pixels, which anti-aliases: ``REDUCED_MEAN_DIFF[r]`` against mmpose's full-size warp, and
  ``AREA_MEAN_DIFF`` against the same warp of the photo box-averaged r x r (per crop, over the pixels
  inside the photo).
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import List, Sequence

import cv2
import numpy as np
import pytest
from mmengine.config import Config

pytest.importorskip("mmpose")

from dwpose.datasets.decode_warp import (  # noqa: E402
    ENCODED_KEY,
    FAST_TRANSFORMS,
    REDUCTION_KEY,
    EncodedImage,
    choose_reduction,
    compose_warp,
    fast_decode_warp_pipeline,
    read_jpeg_header,
)
from tests.mmpose_helpers import LABEL_KEYS, apply_seeded, mini_dataset  # noqa: E402
from tests.mmpose_helpers import enter_mmpose_scope as _mmpose_scope  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "configs/_base_"
FULL_SIZE = ("rtmpose_coco-ubody-wholebody_256x192.py", "rtmpose_coco-ubody-wholebody_384x288.py",
             "rtmpose_coco-wholebody_256x192.py", "rtmpose_coco-wholebody_384x288.py",
             "rtmpose_coco_256x192.py", "rtmpose_mpii_256x256.py")
# Bounds (uint8 levels), measured on the 4 photos of coco-wholebody-mini (see each test's docstring).
R1_MAX_DIFF, R1_MEAN_DIFF = 2, 0.01
REDUCED_MEAN_DIFF = {2: 12.0, 4: 20.0, 8: 28.0}  # vs the full-size warp, which aliases
AREA_MEAN_DIFF = 1.0  # vs the warp of the photo box-averaged r x r


@pytest.fixture(autouse=True)
def _in_mmpose_scope():
    _mmpose_scope()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One OpenCV thread, as in a data worker."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    yield
    cv2.setNumThreads(before)


def _build(steps: Sequence[dict]) -> list:
    from mmpose.registry import TRANSFORMS

    _mmpose_scope()
    return [TRANSFORMS.build(copy.deepcopy(t)) for t in steps]


def _run(steps: Sequence[dict], coco_mini: Path, passes: int = 1, seed: int = 0) -> List[dict]:
    """``steps`` on every labelled person of the mini set, ``passes`` times, from one seed."""
    return apply_seeded(mini_dataset(coco_mini), _build(steps), passes, seed)


def _until_affine(pipeline: Sequence[dict], **affine_kwargs) -> List[dict]:
    end = next(i for i, t in enumerate(pipeline) if t["type"].endswith("TopdownAffine"))
    return [*pipeline[:end], dict(pipeline[end], **affine_kwargs)]


def _augment(cfg: Config, stage: str = "train_pipeline") -> List[dict]:
    """The config's training steps before packing."""
    packers = ("LeanPackPoseInputs", "GenerateTarget", "PackPoseInputs")
    return [t for t in cfg[stage] if t["type"] not in packers]


def _in_photo(results: dict, affine) -> np.ndarray:
    """``(h, w)`` mask of crop pixels whose bilinear footprint lies inside the photo."""
    h, w = results["img_shape"]
    matrix = affine.warp_matrix(results)
    ones = np.full((h, w), 255, np.uint8)
    return cv2.warpAffine(ones, matrix, tuple(affine.input_size), flags=cv2.INTER_LINEAR) == 255


@pytest.fixture(scope="module")
def cfg_256() -> Config:
    return Config.fromfile(str(BASE / "rtmpose_coco-ubody-wholebody_256x192.py"))


# ---- pure parts ---------------------------------------------------------------------------------------
def test_choose_reduction_needs_r_photo_pixels_per_input_pixel():
    shrink = lambda s: np.array([[1 / s, 0, 5], [0, 1 / s, 7]])  # noqa: E731
    assert [choose_reduction(shrink(s)) for s in (0.5, 1.0, 1.99, 2.0, 3.9, 4.0, 7.9, 8.0, 30.0)] == \
        [1, 1, 1, 2, 2, 4, 4, 8, 8]
    assert choose_reduction(shrink(30.0), max_reduction=2) == 2
    assert choose_reduction(shrink(30.0), max_reduction=1) == 1
    assert choose_reduction(shrink(4.0), margin=1.5) == 2
    c, s = np.cos(0.7), np.sin(0.7)
    rotated = np.array([[c, -s, 0], [s, c, 0]]) / 4.0
    assert choose_reduction(rotated) == 4
    squeezed = np.array([[1 / 8, 0, 0], [0, 1 / 2, 0]])  # the least-shrunk axis decides
    assert choose_reduction(squeezed) == 2


def test_compose_warp_maps_reduced_and_flipped_pixels_where_the_photo_pixels_go():
    matrix = np.array([[0.3, -0.1, 12.0], [0.1, 0.3, -4.0]])
    img = EncodedImage(b"", None, width=101, height=67, reducible=True, flip_x=True, flip_y=False)
    for r in (1, 2, 4, 8):
        reduced = np.array([[0.0, 0.0], [3.0, 5.0], [10.0, 7.0]])
        photo = r * reduced + (r - 1) / 2
        flipped = np.stack([img.width - 1 - photo[:, 0], photo[:, 1]], 1)
        want = flipped @ matrix[:, :2].T + matrix[:, 2]
        got = reduced @ compose_warp(matrix, img, r)[:, :2].T + compose_warp(matrix, img, r)[:, 2]
        np.testing.assert_allclose(got, want, atol=1e-9)
    plain = EncodedImage(b"", None, width=101, height=67, reducible=True)
    np.testing.assert_allclose(compose_warp(matrix, plain, 1), matrix, atol=0)


def test_pipeline_swap_keeps_every_argument(cfg_256):
    fast = cfg_256.train_pipeline
    plain = fast_decode_warp_pipeline(fast, on=False)
    assert [t["type"] for t in plain][:6] == ["LoadImage", "GetBBoxCenterScale", "RandomFlip",
                                              "RandomHalfBody", "RandomBBoxTransform", "TopdownAffine"]
    assert fast_decode_warp_pipeline(plain, on=True) == [dict(t) for t in fast]
    for a, b in zip(fast, plain):
        assert {k: v for k, v in a.items() if k != "type"} == {k: v for k, v in b.items() if k != "type"}


# ---- the header ---------------------------------------------------------------------------------------
def test_header_gives_cv2s_shape_on_real_photos(photos):
    for path in photos:
        data = path.read_bytes()
        header = read_jpeg_header(data, str(path))
        full = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert (header.height, header.width) == full.shape[:2] and header.reducible
        for r in (2, 4, 8):
            img, used = header.decode(r)
            assert used == r and img.shape == (-(-full.shape[0] // r), -(-full.shape[1] // r), 3)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_as_cv2_applies_it(photos, orientation, tmp_path):
    """A JPEG whose EXIF says "rotate": the header swaps width and height as cv2.imdecode rotates the
    pixels, and the decode is kept at full size (reduced pixel centres would not be r * i + (r-1) / 2)."""
    from PIL import Image

    from dwpose.datasets.decode_warp import LoadEncodedImage

    pil = Image.open(photos[0]).crop((0, 0, 301, 203))  # odd sizes: not divisible by 2, 4, 8
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", exif=exif.tobytes(), quality=90)
    path = tmp_path / "rotated.jpg"
    path.write_bytes(buf.getvalue())
    full = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    assert full.shape[:2] == ((301, 203) if orientation in (6, 8) else (203, 301))  # cv2 rotated it
    results = LoadEncodedImage()(dict(img_path=str(path)))
    assert results["img_shape"] == results["ori_shape"] == full.shape[:2]
    encoded = results[ENCODED_KEY]
    assert not encoded.reducible
    img, used = encoded.decode(1)
    assert used == 1 and np.array_equal(img, full)


def test_non_jpeg_is_decoded_at_load_as_loadimage_does(photos, tmp_path):
    from mmpose.registry import TRANSFORMS

    png = tmp_path / "photo.png"
    cv2.imwrite(str(png), cv2.imread(str(photos[0]))[:100, :120])
    assert read_jpeg_header(png.read_bytes()) is None
    ours = TRANSFORMS.build(dict(type="LoadEncodedImage"))(dict(img_path=str(png)))
    ref = TRANSFORMS.build(dict(type="LoadImage"))(dict(img_path=str(png)))
    assert ENCODED_KEY not in ours and np.array_equal(ours["img"], ref["img"])
    assert ours["img_shape"] == ref["img_shape"] == (100, 120)


class _AsPng:
    """A data set whose samples name PNG copies of their photos (``pngs``: JPEG file name -> PNG path)."""

    def __init__(self, dataset, pngs: dict) -> None:
        self.dataset, self.pngs = dataset, pngs

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict:
        results = self.dataset[i]
        return dict(results, img_path=self.pngs[Path(results["img_path"]).name])


def test_a_png_is_read_and_decoded_once_and_cropped_as_mmpose(cfg_256, coco_mini, photos, tmp_path,
                                                              monkeypatch):
    """The config's steps up to the affine on PNG copies of the real photos: each file read once and
    decoded once (at load: a PNG has no reduced decode), and the crops within the ``R1_*`` bounds of
    mmpose's LoadImage + RandomFlip + TopdownAffine (keypoints bitwise)."""
    import mmengine.fileio

    pngs = {}
    for photo in photos:
        pngs[photo.name] = str(tmp_path / f"{photo.stem}.png")
        cv2.imwrite(pngs[photo.name], cv2.imread(str(photo)))
    dataset = _AsPng(mini_dataset(coco_mini), pngs)
    fast = _until_affine(cfg_256.train_pipeline)
    ours_steps, ref_steps = _build(fast), _build(fast_decode_warp_pipeline(fast, on=False))
    calls = {"read": 0, "decode": 0}
    read, decode = mmengine.fileio.get, cv2.imdecode

    def counted(key, fn):
        def call(*args, **kwargs):
            calls[key] += 1
            return fn(*args, **kwargs)
        return call

    monkeypatch.setattr(mmengine.fileio, "get", counted("read", read))
    monkeypatch.setattr(cv2, "imdecode", counted("decode", decode))
    ours = apply_seeded(dataset, ours_steps, passes=2)
    monkeypatch.undo()
    assert calls == {"read": len(ours), "decode": len(ours)}
    ref = apply_seeded(dataset, ref_steps, passes=2)
    assert len(ours) == len(ref) >= 20 and 0 < sum(r["flip"] for r in ours) < len(ours)
    for a, b in zip(ours, ref):
        assert ENCODED_KEY not in a and REDUCTION_KEY not in a
        assert np.array_equal(a["transformed_keypoints"], b["transformed_keypoints"])
        diff = np.abs(a["img"].astype(np.int16) - b["img"].astype(np.int16))
        assert diff.max() <= R1_MAX_DIFF and diff.mean() <= R1_MEAN_DIFF


def test_a_truncated_jpeg_fails_with_mmcvs_message(photos, tmp_path):
    """The header reads, the pixels do not: the affine step says what mmcv's LoadImage says, which
    ``dwpose.errors`` turns into one user line."""
    from dwpose.errors import user_error_message

    path = tmp_path / "cut.jpg"
    path.write_bytes(photos[0].read_bytes()[:20000])
    load, affine = _build([dict(type="LoadEncodedImage"),
                           dict(type="DecodeWarpTopdownAffine", input_size=(192, 256))])
    results = load(dict(img_path=str(path)))
    results.update(bbox_center=np.array([[100.0, 100.0]]), bbox_scale=np.array([[50.0, 80.0]]))
    with pytest.raises(OSError, match="failed to load image: .*cut.jpg") as err:
        affine(results)
    assert user_error_message(err.value) == f"cannot decode image {path} (corrupt or not an image)"


def test_bad_arguments_say_what_to_do():
    from mmpose.registry import TRANSFORMS

    with pytest.raises(ValueError, match="max_reduction must be 1, 2, 4 or 8"):
        TRANSFORMS.build(dict(type="DecodeWarpTopdownAffine", input_size=(192, 256), max_reduction=3))
    with pytest.raises(ValueError, match="reduce_margin must be positive"):
        TRANSFORMS.build(dict(type="DecodeWarpTopdownAffine", input_size=(192, 256), reduce_margin=0))
    with pytest.raises(ValueError, match="or use LoadImage"):
        TRANSFORMS.build(dict(type="LoadEncodedImage", to_float32=True))


# ---- against mmpose on the real photos -----------------------------------------------------------------
@pytest.mark.parametrize("stage", ["train_pipeline", "train_pipeline_stage2"])
def test_keypoints_and_simcc_labels_are_bitwise_mmposes(stage, cfg_256, coco_mini):
    """The config's whole augmentation (flip, half body, shift / scale / rotation, colour, blur,
    dropout) with the switch on and off, same seeds: the same draws, boxes, keypoints and labels."""
    from mmpose.registry import TRANSFORMS

    assert cfg_256.fast_decode_warp
    fast = _augment(cfg_256, stage)
    ours = _run(fast, coco_mini, passes=3)
    ref = _run(fast_decode_warp_pipeline(fast, on=False), coco_mini, passes=3)
    generate = TRANSFORMS.build(dict(type="GenerateTarget", encoder=cfg_256.codec))
    for a, b in zip(ours, ref):
        assert a["flip"] == b["flip"] and a["flip_direction"] == b["flip_direction"]
        for key in ("bbox_center", "bbox_scale", "bbox_rotation", "input_center", "input_scale",
                    "keypoints", "keypoints_visible", "transformed_keypoints"):
            assert np.array_equal(a[key], b[key]), key
        assert a["img"].shape == b["img"].shape == (256, 192, 3)
        la, lb = generate(copy.deepcopy(a)), generate(copy.deepcopy(b))
        for key in LABEL_KEYS:
            assert np.array_equal(la[key], lb[key]), key
    assert len(ours) == len(ref) >= 30
    flips = sum(r["flip"] for r in ours)
    assert 0 < flips < len(ours)  # both kinds of sample were compared
    assert sum(abs(float(r["bbox_rotation"][0])) > 1 for r in ours) > len(ours) // 4


def test_full_size_decode_equals_mmposes_flip_and_warp(cfg_256, coco_mini):
    """``max_reduction=1``: the one warp of the unflipped photo through the composed matrix against
    mmpose's warp of the ``np.flip``-ped photo. Measured on 60 crops (5 passes, 30 flipped): unflipped
    crops bitwise equal; flipped ones differ in a few pixels by 1 level (the composed matrix moves
    OpenCV's 1/32-pixel fixed-point sample positions by one rounding step), worst crop max 1 and
    mean 0.0002 levels. Bounds: max ``R1_MAX_DIFF``, mean ``R1_MEAN_DIFF``."""
    fast = _until_affine(cfg_256.train_pipeline, max_reduction=1)
    ours = _run(fast, coco_mini, passes=5)
    ref = _run(fast_decode_warp_pipeline(_until_affine(cfg_256.train_pipeline), on=False), coco_mini,
               passes=5)
    worst_max = worst_mean = 0.0
    for a, b in zip(ours, ref):
        assert a[REDUCTION_KEY] == 1
        diff = np.abs(a["img"].astype(np.int16) - b["img"].astype(np.int16))
        if not a["flip"]:
            assert np.array_equal(a["img"], b["img"])
        worst_max, worst_mean = max(worst_max, diff.max()), max(worst_mean, diff.mean())
    assert sum(a["flip"] for a in ours) > 5
    assert worst_max <= R1_MAX_DIFF and worst_mean <= R1_MEAN_DIFF, (worst_max, worst_mean)


def test_reduced_decode_stays_close_to_the_full_size_warp(photos):
    """Crops decoded at 1/r (r = 2, 4, 8) against (1) mmpose's warp of the full-size photo and (2) the
    same warp of the photo box-averaged r x r (``cv2.INTER_AREA``), the anti-aliased image a reduced
    decode stands for; mean absolute difference per crop over its pixels inside the photo. Boxes on
    every photo shrunk 1.001 r and 1.5 r times (the reduced photo sampled about 1:1 and 1.5:1),
    rotated 30 degrees, flipped. Measured on the 4 photos: (1) up to 9.6 / 15.9 / 23.0 levels at
    r = 2 / 4 / 8 on the sharpest photo (3.1-5.4 on the others at r = 2): mmpose's point-sampled
    warp aliases and the box-averaged photo differs from it by the same amounts; (2) at most 0.4:
    the geometry (pixel ``i`` at ``r * i + (r - 1) / 2``, flip) adds nothing. Bounds:
    ``REDUCED_MEAN_DIFF[r]`` and ``AREA_MEAN_DIFF``."""
    load, flip, affine, ref_load, ref_flip, ref_affine = _build([
        dict(type="LoadEncodedImage"), dict(type="DeferredRandomFlip", prob=1.0),
        dict(type="DecodeWarpTopdownAffine", input_size=(192, 256)),
        dict(type="LoadImage"), dict(type="RandomFlip", prob=1.0),
        dict(type="TopdownAffine", input_size=(192, 256))])
    vs_full, vs_area = {r: [] for r in (2, 4, 8)}, []
    for path in photos:
        full = cv2.imread(str(path))
        height, width = full.shape[:2]
        for r in (2, 4, 8):
            for grow in (1.001, 1.5):
                box = dict(img_path=str(path), bbox_scale=np.array([[0.0, 256.0 * r * grow]]),
                           bbox_rotation=np.array([30.0]))
                a, b = flip(load(copy.deepcopy(box))), ref_flip(ref_load(copy.deepcopy(box)))
                encoded = a[ENCODED_KEY]
                a["bbox_center"] = b["bbox_center"] = np.array([[width / 2, height / 2]], np.float32)
                a, b = affine(a), ref_affine(b)
                assert a[REDUCTION_KEY] == r and encoded.flip_x
                inside = _in_photo(b, affine)
                mad = lambda x, y, inside=inside: (  # noqa: E731
                    np.abs(x.astype(np.int16) - y.astype(np.int16))[inside].mean())
                vs_full[r].append(mad(a["img"], b["img"]))
                h, w = -(-height // r), -(-width // r)
                padded = cv2.copyMakeBorder(full, 0, h * r - height, 0, w * r - width, cv2.BORDER_REPLICATE)
                area = cv2.resize(padded, (w, h), interpolation=cv2.INTER_AREA)
                area_crop = cv2.warpAffine(area, compose_warp(affine.warp_matrix(a), encoded, r), (192, 256),
                                           flags=cv2.INTER_LINEAR)
                vs_area.append(mad(a["img"], area_crop))
    for r, diffs in vs_full.items():
        assert max(diffs) <= REDUCED_MEAN_DIFF[r], (r, diffs)
    assert max(vs_area) <= AREA_MEAN_DIFF, vs_area


def test_each_step_also_works_next_to_mmposes(cfg_256, coco_mini):
    """mmpose's LoadImage + RandomFlip before DecodeWarpTopdownAffine: exactly TopdownAffine.
    mmpose's LoadImage + DeferredRandomFlip (cv2.flip) before TopdownAffine: exactly RandomFlip's crops.
    LoadEncodedImage before mmpose's TopdownAffine fails loudly (no pixels), never silently."""
    plain = fast_decode_warp_pipeline(_until_affine(cfg_256.train_pipeline), on=False)
    ref = _run(plain, coco_mini)
    mixes = [{"TopdownAffine": "DecodeWarpTopdownAffine"}, {"RandomFlip": "DeferredRandomFlip"}]
    for mix in mixes:
        got = _run([dict(t, type=mix.get(t["type"], t["type"])) for t in plain], coco_mini)
        for a, b in zip(got, ref):
            assert np.array_equal(a["img"], b["img"]) and a["img"].flags["C_CONTIGUOUS"]
            assert np.array_equal(a["transformed_keypoints"], b["transformed_keypoints"])
    broken = [dict(t, type="LoadEncodedImage" if t["type"] == "LoadImage" else t["type"]) for t in plain]
    broken = [t for t in broken if t["type"] != "RandomFlip"]
    with pytest.raises(KeyError, match="img"):
        _run(broken, coco_mini)


# ---- the switch in the configs ---------------------------------------------------------------------
@pytest.mark.parametrize("name", FULL_SIZE)
def test_switch_is_on_in_the_full_size_configs(name):
    cfg = Config.fromfile(str(BASE / name))
    assert cfg.fast_decode_warp is True
    for stage in ("train_pipeline", "train_pipeline_stage2"):
        types = [t["type"] for t in cfg[stage]]
        assert set(FAST_TRANSFORMS.values()) <= set(types), stage
        assert not set(FAST_TRANSFORMS) & set(types), stage
    assert [t["type"] for t in cfg.val_pipeline][0] == "LoadImage"  # evaluation: mmpose's crops
    affine = next(t for t in cfg.train_pipeline if t["type"] == "DecodeWarpTopdownAffine")
    assert tuple(affine["input_size"]) == tuple(cfg.codec.input_size)


def test_switch_is_off_in_the_demo_configs():
    """The demo keeps mmpose's transforms: its committed results table must not move."""
    paths = [BASE / "rtmpose_demo_128x96.py", *sorted((REPO / "configs/demo").rglob("*.py"))]
    assert len(paths) > 3
    for path in paths:
        cfg = Config.fromfile(str(path))
        for stage in ("train_pipeline", "train_pipeline_stage2"):
            if stage in cfg:
                types = {t["type"] for t in cfg[stage]}
                assert not set(FAST_TRANSFORMS.values()) & types, (path, stage)
                assert "LoadImage" in types, (path, stage)
