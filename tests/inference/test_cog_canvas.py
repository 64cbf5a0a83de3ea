"""The Cog predictor's drawing inputs: ``canvas`` and ``detect_resolution``, as raw JSON values."""

from __future__ import annotations

import pytest

pytest.importorskip("cog")
import predict  # noqa: E402


def test_canvas_and_detect_resolution_are_taken():
    canvas, style = predict._drawing("black", 0)
    assert canvas == "black" and style.detect_resolution == 0
    assert predict._drawing("image", 512.0)[1].detect_resolution == 512


@pytest.mark.parametrize(
    ("canvas", "resolution", "message"),
    [("white", 512, "^canvas must be one of image, black"), (None, 512, "^canvas must be"),
     ("black", 32, "^detect_resolution must be 0 .* or a whole number from 64 to 8192"),
     ("black", 10**6, "^detect_resolution must be 0 .* or a whole number from 64 to 8192"),
     ("black", -1, "^detect_resolution must be a whole number >= 0"),
     ("black", "512", "^detect_resolution must be a whole number"),
     ("black", True, "^detect_resolution must be a whole number")],
)  # fmt: skip
def test_bad_values_are_refused_with_one_message(canvas, resolution, message):
    with pytest.raises(ValueError, match=message):
        predict._drawing(canvas, resolution)
