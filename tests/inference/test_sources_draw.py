"""Inputs (header sizes, limits, input kinds, image ids) and drawing (overlay vs black canvas)."""

from __future__ import annotations

import argparse
import struct
import zlib

import cv2
import numpy as np
import pytest

from dwpose.inference.cli import parts_list
from dwpose.inference.draw import FOOT_EDGES, check_parts, draw_poses
from dwpose.inference.predict_io import assign_image_ids
from dwpose.inference.sources import classify_input, image_size_from_header, read_image


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp"])
def test_header_size_matches_decoded_size(tmp_path, ext):
    path = tmp_path / f"a{ext}"
    cv2.imwrite(str(path), np.zeros((37, 53, 3), np.uint8))
    assert image_size_from_header(path) == (53, 37)
    assert read_image(path).shape == (37, 53, 3)


def _png_header_only(path, width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + b"garbage")


def test_huge_image_is_refused_before_decoding(tmp_path):
    _png_header_only(tmp_path / "huge.png", 20000, 20000)
    with pytest.raises(ValueError, match="400 megapixels, over the 100 megapixel limit"):
        read_image(tmp_path / "huge.png")


def test_corrupt_and_missing_images(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ValueError, match="cannot decode image .*bad.jpg"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_image(tmp_path / "nope.jpg")


def test_classify_input(tmp_path):
    (tmp_path / "v.mp4").write_bytes(b"x")
    (tmp_path / "i.JPG").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    assert classify_input("0") == ("webcam", 0)
    assert classify_input(str(tmp_path)) == ("folder", tmp_path)
    assert classify_input(str(tmp_path / "v.mp4"))[0] == "video"
    assert classify_input(str(tmp_path / "i.JPG"))[0] == "image"
    with pytest.raises(ValueError, match="unknown file type '.txt'"):
        classify_input(str(tmp_path / "notes.txt"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        classify_input(str(tmp_path / "gone.png"))


def test_image_ids_numeric_stems_or_index(tmp_path):
    assert assign_image_ids([tmp_path / "000000000785.jpg", tmp_path / "40083.png"]) == {
        "000000000785.jpg": 785,
        "40083.png": 40083,
    }
    assert assign_image_ids([tmp_path / "b.jpg", tmp_path / "12.jpg"]) == {"b.jpg": 13, "12.jpg": 12}
    assert assign_image_ids([tmp_path / "1.jpg", tmp_path / "01.png"]) == {"1.jpg": 1, "01.png": 2}


def _one_person(width=400, height=300):
    kpts = np.tile(np.array([[200.0, 150.0]], np.float32), (133, 1))
    kpts[:17] += np.random.default_rng(0).uniform(-60, 60, (17, 2))
    return kpts[None], np.full((1, 133), 0.9, np.float32)


def test_overlay_keeps_the_photo_and_black_canvas_does_not():
    """Cog wrapper defect (docs/algorithm.md): its README promised an overlay but it drew on black."""
    image = np.random.default_rng(1).integers(30, 220, (300, 400, 3), dtype=np.uint8)
    kpts, scores = _one_person()
    overlay = draw_poses(image, kpts, scores, 0.3, canvas="image")
    black = draw_poses(image, kpts, scores, 0.3, canvas="black")
    assert overlay.shape == image.shape and overlay.dtype == np.uint8
    untouched = np.all(overlay == image, axis=-1)
    assert 0.5 < untouched.mean() < 1.0  # mostly the photo, with a skeleton on it
    assert black.any() and (~black.any(axis=-1)).mean() > 0.5  # a skeleton on black, not the photo
    assert np.array_equal(image, draw_poses(image, kpts, scores * 0, 0.3))  # nothing above the threshold
    with pytest.raises(ValueError, match="canvas must be"):
        draw_poses(image, kpts, scores, canvas="white")


def _drawn(image, kpts, scores, parts):
    return np.any(draw_poses(image, kpts, scores, 0.3, "black", parts) > 0, axis=-1)


def test_each_part_draws_only_near_its_own_keypoints():
    image = np.zeros((300, 400, 3), np.uint8)
    kpts, scores = _one_person()
    kpts[0, 17:23] = [[60, 250], [70, 260], [50, 240], [340, 250], [350, 260], [330, 240]]  # feet
    kpts[0, 15:17] = [[60, 200], [340, 200]]  # ankles above them
    assert not _drawn(image, kpts, scores, ()).any()
    feet = _drawn(image, kpts, scores, ("feet",))
    ys, xs = np.nonzero(feet)
    assert feet.any() and ys.min() >= 195 and ys.max() <= 265  # ankle -> heel / toes, nothing else
    assert np.all((xs < 80) | (xs > 320)) and (xs < 80).any() and (xs > 320).any()  # both feet
    body = _drawn(image, kpts, scores, ("body",))
    assert np.array_equal(_drawn(image, kpts, scores, ("body", "feet")), body | feet)
    default = draw_poses(image, kpts, scores, 0.3, "black")
    assert np.array_equal(default, draw_poses(image, kpts, scores, 0.3, "black", ("body", "face", "hands")))
    hidden = scores.copy()
    hidden[0, 17:23] = 0.1  # feet below the threshold: not drawn
    assert not _drawn(image, kpts, hidden, ("feet",)).any()
    assert len(FOOT_EDGES) == 2


def test_parts_are_checked_and_parsed():
    assert check_parts(["hands", "body"]) == ("body", "hands")  # PARTS order
    with pytest.raises(ValueError, match="unknown part.*: legs; choose from body, feet, face, hands"):
        check_parts(["body", "legs"])
    assert parts_list("feet, face") == ("feet", "face")
    with pytest.raises(argparse.ArgumentTypeError, match="unknown part"):
        parts_list("body,tail")
