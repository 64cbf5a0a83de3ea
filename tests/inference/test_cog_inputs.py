"""The Cog predictor's input checks and output clean-up, without the server (the server tests are slow)."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("cog")
import cog  # noqa: E402
from cog.types import URLPath  # noqa: E402

import predict  # noqa: E402


@pytest.fixture()
def cog_tmp(tmp_path, monkeypatch) -> Path:
    """A private temp folder standing in for the one Cog downloads inputs into."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _cog_download(folder: Path, data: bytes = b"\xff\xd8 photo") -> cog.Path:
    """What Cog 0.23.1 hands ``predict()`` for a data: URL: ``cog.Path`` of a NamedTemporaryFile."""
    with tempfile.NamedTemporaryFile(suffix="file.jpg", delete=False) as f:
        f.write(data)
    assert Path(f.name).parent == folder
    return cog.Path(f.name)


@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0, 0.3, 1e-9])
def test_threshold_numbers_in_0_1_are_taken(value):
    assert (
        predict.check_threshold(value) == pytest.approx(value)
        and type(predict.check_threshold(value)) is float
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "true"), (False, "false"), ("0.5", '"0.5"'), (None, "null"), ([0.3], "[0.3]"), (-0.1, "-0.1"),
     (1.0001, "1.0001"), (float("nan"), "NaN"), (float("inf"), "Infinity"),
     ("x" * 100, '"' + "x" * 36 + "...")],
)  # fmt: skip
def test_threshold_refusals_say_what_came(value, shown):
    with pytest.raises(ValueError, match="^threshold must be a number between 0 and 1") as err:
        predict.check_threshold(value)
    assert str(err.value).endswith(f"got {shown}")


def test_a_file_cog_downloaded_is_taken(cog_tmp):
    image = _cog_download(cog_tmp)
    assert predict.uploaded_file(image) == Path(image)


@pytest.mark.parametrize(
    ("value", "message"), [(None, "image is required"), ("", "image is empty"), (" ", "empty")]
)
def test_missing_or_empty_image(value, message):
    with pytest.raises(ValueError, match=message):
        predict.uploaded_file(value)


def test_everything_else_is_refused_with_one_message(cog_tmp, tmp_path):
    real = tmp_path / "real.jpg"
    real.write_bytes(b"\xff\xd8 photo")
    link = cog_tmp / "tmplink.jpg"
    link.symlink_to(real)
    folder = cog_tmp / "tmpfolder"
    folder.mkdir()
    not_tmp_named = cog_tmp / "photo.jpg"
    not_tmp_named.write_bytes(b"x")
    refused = [
        str(real),  # a plain string, as Cog 0.23.1 hands over server paths
        f"file://{real}",
        "../" * 8 + str(real).lstrip("/"),
        str(_cog_download(cog_tmp)),  # even the path of a real download, when sent as text
        cog.Path(real),  # a cog.Path outside the temp folder
        cog.Path(link),  # a link in the temp folder
        cog.Path(folder),  # not a regular file
        cog.Path(not_tmp_named),  # not a name Cog gives
        cog.Path(cog_tmp / "tmpmissing.jpg"),  # gone
        URLPath(source="data:,x", filename="file.txt", fileobj=None),  # not downloaded
        [str(real)],
        {"path": str(real)},
        42,
    ]
    for value in refused:
        with pytest.raises(ValueError) as err:
            predict.uploaded_file(value)
        assert str(err.value) == predict.REFUSED_IMAGE, value


def _wait(condition, limit: float = 5.0) -> bool:
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux-only")
def test_output_folder_goes_once_every_file_was_read(cog_tmp):
    outputs = predict.OutputFolders()
    assert outputs.root.parent == cog_tmp
    folder = outputs.new()
    files = [folder / "keypoints.npz", folder / "keypoints.png"]
    for f in files:
        f.write_bytes(b"data")
    outputs.hand_over(folder, files)
    files[0].read_bytes()  # what Cog's server does with each returned path
    time.sleep(0.3)
    assert folder.is_dir() and outputs.waiting() == 1  # one file still unread: kept
    files[1].read_bytes()
    assert _wait(lambda: not folder.exists()) and outputs.waiting() == 0
    assert list(outputs.root.iterdir()) == []


def test_unread_or_discarded_output_folders_go_too(cog_tmp):
    outputs = predict.OutputFolders(stale_after=0.5)
    never_read, failed = outputs.new(), outputs.new()
    (never_read / "keypoints.npz").write_bytes(b"data")
    outputs.hand_over(never_read, [never_read / "keypoints.npz"])
    (failed / "half.tmp").write_bytes(b"data")
    outputs.discard(failed)
    assert not failed.exists()
    assert never_read.is_dir()
    assert _wait(lambda: not never_read.exists()) and outputs.waiting() == 0


def test_output_root_is_one_private_folder(cog_tmp):
    outputs = predict.OutputFolders()
    assert [p.name for p in cog_tmp.iterdir()] == [outputs.root.name]
    assert outputs.root.name.startswith("dwpose-cog-")
    assert oct(os.stat(outputs.root).st_mode & 0o777) == "0o700"


@pytest.mark.parametrize("value", [True, False])
def test_video_flags_take_json_booleans(value):
    assert predict.check_flag("track", value) is value


@pytest.mark.parametrize(
    ("value", "shown"), [("true", '"true"'), (1, "1"), (None, "null"), ([True], "[true]")]
)
def test_video_flags_refuse_the_rest(value, shown):
    with pytest.raises(ValueError, match=f"^track must be true or false, got {re.escape(shown)}$"):
        predict.check_flag("track", value)


def test_video_counts_take_whole_numbers_at_least_the_least():
    assert predict.check_count("stride", 3, 1) == 3 and predict.check_count("stride", 2.0, 1) == 2
    assert predict.check_count("start", 0, 0) == 0
    for value, shown in [
        (0, "0"),
        (1.5, "1.5"),
        (True, "true"),
        ("2", '"2"'),
        (None, "null"),
        (float("inf"), "Infinity"),
    ]:
        with pytest.raises(ValueError, match=f"^stride must be a whole number >= 1, got {re.escape(shown)}$"):
            predict.check_count("stride", value, 1)


def test_video_uploads_are_checked_like_images(cog_tmp, tmp_path):
    clip = _cog_download(cog_tmp, b"\x00\x00\x00\x18ftypmp42")
    assert predict.uploaded_video(clip) == Path(clip)
    planted = tmp_path / "clip.mp4"
    planted.write_bytes(b"x")
    for value in (str(planted), f"file://{planted}", cog.Path(planted), 5):
        with pytest.raises(ValueError) as err:
            predict.uploaded_video(value)
        assert str(err.value) == predict.REFUSED_VIDEO, value
    with pytest.raises(ValueError, match="^video is empty"):
        predict.uploaded_video("  ")
