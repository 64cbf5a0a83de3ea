"""Decode late, flip in the warp: a cheaper ``LoadImage`` -> ``RandomFlip`` -> ``TopdownAffine``.

mmpose's top-down training pipeline decodes every photo at full size, flips it with ``np.flip`` (a
negative-stride view that OpenCV copies to C order before warping) and then warps the person's box
to the model input. The three transforms here do the same work in one place:

- :class:`LoadEncodedImage` reads the file and the JPEG header (size after EXIF orientation, as
  ``cv2.imdecode`` returns it) and keeps the encoded bytes: no pixels yet;
- :class:`DeferredRandomFlip` is mmpose's ``RandomFlip`` (same random draw, same flipped keypoints
  and boxes) that notes the flip on the encoded image instead of flipping pixels;
- :class:`DecodeWarpTopdownAffine` is mmpose's ``TopdownAffine`` (same warp matrix, so the same
  ``transformed_keypoints`` and SimCC labels) that decodes the JPEG at 1/r of its size
  (``cv2.IMREAD_REDUCED_COLOR_r``, r in 1, 2, 4, 8) when the crop has at least r photo pixels per
  input pixel, and composes the reduction and the flip into the one ``cv2.warpAffine``.

Augmentation stays per sample and per epoch: nothing is cached. The crop differs from mmpose's by
interpolation only (bounds measured in ``tests/datasets/test_decode_warp.py``). Configs choose these
transforms with ``fast_decode_warp = True``; :func:`fast_decode_warp_pipeline` swaps them in or out
of a pipeline. Each transform also works next to mmpose's: with a decoded image in ``results['img']``
(mmpose's ``LoadImage``, a PNG) the flip flips the pixels (``cv2.flip``) and the affine is
``TopdownAffine``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmengine import fileio
from mmpose.datasets.transforms import LoadImage, RandomFlip, TopdownAffine
from mmpose.registry import TRANSFORMS
from mmpose.structures.bbox import get_udp_warp_matrix, get_warp_matrix

from dwpose.errors import UserError

ENCODED_KEY = "img_encoded"
REDUCTION_KEY = "decode_reduction"  # the r the affine decoded at, for benchmarks and tests
REDUCTIONS = (8, 4, 2)
_REDUCED_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                  8: cv2.IMREAD_REDUCED_COLOR_8}
_EXIF_ORIENTATION = 0x0112
_DUMMY = np.zeros((1, 1, 3), np.uint8)  # what mmpose's transforms get in place of the deferred pixels
# config names: mmpose's transform -> the one that defers its pixel work
FAST_TRANSFORMS = {"LoadImage": "LoadEncodedImage", "RandomFlip": "DeferredRandomFlip",
                   "TopdownAffine": "DecodeWarpTopdownAffine"}


@dataclass(frozen=True)
class EncodedImage:
    """A JPEG not decoded yet, and the flips owed to its pixels.

    ``width`` / ``height`` are those of ``cv2.imdecode(data, cv2.IMREAD_COLOR)`` (EXIF orientation
    applied); ``reducible`` is False where a reduced decode would not map pixel ``i`` to photo
    coordinate ``r * i + (r - 1) / 2`` (an EXIF rotation or mirror), so only full size is used.
    """

    data: bytes
    path: Optional[str]
    width: int
    height: int
    reducible: bool
    flip_x: bool = False
    flip_y: bool = False

    def decode(self, reduction: int = 1) -> Tuple[np.ndarray, int]:
        """Return ``(image, r)``: BGR uint8 ``(ceil(H / r), ceil(W / r), 3)`` decoded at 1/r, where r is
        ``reduction`` or 1 if the decoder did not scale by exactly r.

        Raises:
            OSError: OpenCV cannot decode the bytes, or full size disagrees with the header.
        """
        img = cv2.imdecode(np.frombuffer(self.data, np.uint8), _REDUCED_FLAGS[reduction])
        if img is None:
            raise OSError(f"failed to load image: {self.path}")  # mmcv's words (dwpose.errors)
        expected = (-(-self.height // reduction), -(-self.width // reduction))
        if img.shape[:2] != expected:
            if reduction > 1:  # a decoder that does not scale by r exactly: use full size
                return self.decode(1)
            raise OSError(f"{self.path}: decoded {img.shape[1]}x{img.shape[0]}, its header says "
                          f"{self.width}x{self.height}; load it with LoadImage (fast_decode_warp = False)")
        return img, reduction


def read_jpeg_header(data: bytes, path: Optional[str] = None) -> Optional[EncodedImage]:
    """``EncodedImage`` of JPEG bytes from the header alone (PIL reads no pixels); None if not a JPEG."""
    if not data.startswith(b"\xff\xd8"):
        return None
    from PIL import Image  # mmcv's dependency

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "JPEG":
                return None
            width, height = im.size
            orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError):  # PIL's ways of saying "cannot parse": decode it
        return None
    if orientation in (5, 6, 7, 8):  # transposed: cv2.imdecode rotates the pixels
        width, height = height, width
    return EncodedImage(data, path, width, height, reducible=orientation in (0, 1))


def choose_reduction(matrix: np.ndarray, max_reduction: int = 8, margin: float = 1.0) -> int:
    """The largest r in (8, 4, 2) not above ``max_reduction`` whose decode still down-samples; else 1.

    Args:
        matrix: ``(2, 3)`` affine from photo pixels to input pixels.
        max_reduction: 1 turns reduction off.
        margin: r needs ``r * margin`` photo pixels per input pixel, along the least-shrunk axis.
    """
    photo_px_per_input_px = 1.0 / np.linalg.norm(np.asarray(matrix, np.float64)[:, :2], 2)
    return next((r for r in REDUCTIONS if r <= max_reduction and photo_px_per_input_px >= r * margin), 1)


def compose_warp(matrix: np.ndarray, image: EncodedImage, reduction: int) -> np.ndarray:
    """The ``(2, 3)`` affine from the 1/``reduction`` decode of ``image`` to the input crop.

    ``matrix`` maps the photo as flipped (``image.flip_x``: x -> W - 1 - x; ``flip_y`` likewise) to
    the crop; reduced pixel ``i`` is photo coordinate ``r * i + (r - 1) / 2``.
    """
    r = float(reduction)
    to_photo = np.array([[r, 0.0, (r - 1) / 2], [0.0, r, (r - 1) / 2], [0.0, 0.0, 1.0]])
    flip = np.diag([-1.0 if image.flip_x else 1.0, -1.0 if image.flip_y else 1.0, 1.0])
    flip[:2, 2] = [image.width - 1 if image.flip_x else 0, image.height - 1 if image.flip_y else 0]
    return (np.vstack([matrix, [0.0, 0.0, 1.0]]) @ flip @ to_photo)[:2]


@TRANSFORMS.register_module()
class LoadEncodedImage(LoadImage):
    """``LoadImage`` that reads the file and the JPEG header but leaves decoding to the affine.

    Sets ``img_path``, ``img_shape`` and ``ori_shape`` as ``LoadImage`` does and
    ``results['img_encoded']`` (an :class:`EncodedImage`) instead of ``results['img']``. A file that is
    not a JPEG is decoded here from the bytes already read (one read, one decode) as ``LoadImage``
    decodes it; an image already in ``results['img']`` is taken as ``LoadImage`` takes it. Follow it
    with :class:`DeferredRandomFlip` (if flipping) and :class:`DecodeWarpTopdownAffine`; mmpose's
    ``RandomFlip`` / ``TopdownAffine`` stop with ``KeyError: 'img'`` on a deferred image.

    Args: those of ``LoadImage`` with ``color_type='color'``, ``imdecode_backend='cv2'``,
        ``to_float32=False`` (what reduced decoding gives).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.to_float32 or self.color_type != "color" or self.imdecode_backend != "cv2":
            raise UserError("LoadEncodedImage decodes uint8 BGR with cv2: drop to_float32 / color_type / "
                            "imdecode_backend, or use LoadImage")
        if self.file_client_args is not None:
            raise UserError("LoadEncodedImage takes backend_args, not the deprecated file_client_args")

    def transform(self, results: dict) -> Optional[dict]:
        if "img" in results:
            return super().transform(results)
        path = results["img_path"]
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except Exception:
            if self.ignore_empty:
                return None
            raise
        encoded = read_jpeg_header(data, str(path))
        if encoded is None:
            img = self._decode(data)
            if img is not None:  # else LoadImage reads the file itself and says what is wrong
                results["img"] = img
            return super().transform(results)
        results[ENCODED_KEY] = encoded
        results["img_shape"] = results["ori_shape"] = (encoded.height, encoded.width)
        return results


    def _decode(self, data: bytes) -> Optional[np.ndarray]:
        """``data`` decoded as ``LoadImage`` decodes a file (``mmcv.imfrombytes``); None if it cannot."""
        try:
            return mmcv.imfrombytes(data, flag=self.color_type, backend=self.imdecode_backend)
        except Exception:  # LoadImage reads the file again and raises (or ignores) it with its message
            return None


@TRANSFORMS.register_module()
class DeferredRandomFlip(RandomFlip):
    """mmpose's ``RandomFlip`` whose pixel flip is left to :class:`DecodeWarpTopdownAffine`.

    The random draw, ``flip`` / ``flip_direction`` and the flipped boxes and keypoints are
    ``RandomFlip``'s own (it runs on a 1x1 stand-in image). An :class:`EncodedImage` records the flip;
    a decoded ``results['img']`` is flipped here with ``cv2.flip``, a C-ordered copy (``np.flip``'s
    view costs OpenCV a slow copy in the warp).
    """

    def transform(self, results: dict) -> dict:
        img = results.get("img")
        if isinstance(img, list) or (img is None and ENCODED_KEY not in results):
            return super().transform(results)
        results["img"] = _DUMMY
        results = super().transform(results)
        del results["img"]
        direction = results["flip_direction"] if results["flip"] else None
        flip_x, flip_y = direction in ("horizontal", "diagonal"), direction in ("vertical", "diagonal")
        if img is not None:
            code = {"horizontal": 1, "vertical": 0, "diagonal": -1}.get(direction)
            results["img"] = img if code is None else cv2.flip(img, code)
        elif direction is not None:
            encoded = results[ENCODED_KEY]
            results[ENCODED_KEY] = replace(encoded, flip_x=encoded.flip_x ^ flip_x,
                                           flip_y=encoded.flip_y ^ flip_y)
        return results


@TRANSFORMS.register_module()
class DecodeWarpTopdownAffine(TopdownAffine):
    """mmpose's ``TopdownAffine`` that decodes a deferred JPEG at reduced size and warps it once.

    Keypoints, ``bbox_scale``, ``input_size`` / ``input_center`` / ``input_scale`` come from
    ``TopdownAffine`` itself, so they are bitwise mmpose's. The crop is ``cv2.warpAffine`` (bilinear,
    as mmpose) of the decode at 1/r (:func:`choose_reduction`) through :func:`compose_warp`.
    Without a deferred image (mmpose's ``LoadImage``) it is ``TopdownAffine``.

    Args:
        input_size: ``(w, h)`` of the crop.
        use_udp: as ``TopdownAffine``.
        max_reduction: the largest r (1, 2, 4 or 8); 1 decodes at full size (flip still in the warp).
        reduce_margin: r needs at least ``r * reduce_margin`` photo pixels per input pixel.
    """

    def __init__(self, input_size: Tuple[int, int], use_udp: bool = False, max_reduction: int = 8,
                 reduce_margin: float = 1.0) -> None:
        super().__init__(input_size=input_size, use_udp=use_udp)
        if max_reduction not in _REDUCED_FLAGS:
            raise UserError("max_reduction must be 1, 2, 4 or 8 (OpenCV's reduced JPEG decodes), "
                            f"got {max_reduction}")
        if reduce_margin <= 0:
            raise UserError(f"reduce_margin must be positive, got {reduce_margin}")
        self.max_reduction, self.reduce_margin = max_reduction, float(reduce_margin)

    def transform(self, results: Dict) -> Optional[dict]:
        encoded = results.pop(ENCODED_KEY, None)
        if encoded is None:
            return super().transform(results)
        results["img"] = _DUMMY
        results = super().transform(results)
        matrix = self.warp_matrix(results)
        r = choose_reduction(matrix, self.max_reduction, self.reduce_margin) if encoded.reducible else 1
        src, r = encoded.decode(r)
        size = (int(self.input_size[0]), int(self.input_size[1]))
        results["img"] = cv2.warpAffine(src, compose_warp(matrix, encoded, r), size, flags=cv2.INTER_LINEAR)
        results[REDUCTION_KEY] = r
        return results

    def warp_matrix(self, results: dict) -> np.ndarray:
        """The ``(2, 3)`` matrix ``TopdownAffine`` warped with, from the results it left."""
        rot = results["bbox_rotation"][0] if "bbox_rotation" in results else 0.0
        make = get_udp_warp_matrix if self.use_udp else get_warp_matrix
        return make(results["input_center"], results["input_scale"], rot, output_size=tuple(self.input_size))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(input_size={self.input_size}, use_udp={self.use_udp}, "
                f"max_reduction={self.max_reduction}, reduce_margin={self.reduce_margin})")


def fast_decode_warp_pipeline(pipeline: Sequence[dict], on: bool = True) -> List[dict]:
    """``pipeline`` with mmpose's ``LoadImage`` / ``RandomFlip`` / ``TopdownAffine`` swapped for
    this module's (``on``) or back (``not on``); other steps and every argument stay."""
    names = FAST_TRANSFORMS if on else {v: k for k, v in FAST_TRANSFORMS.items()}
    return [dict(t, type=names.get(t["type"], t["type"])) for t in pipeline]
