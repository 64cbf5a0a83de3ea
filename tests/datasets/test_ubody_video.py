"""video2image: frame names and counts, fps resampling, resuming, dotted names, broken videos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

import video2image  # noqa: E402  (the repo-root entry point)
from dwpose.datasets.ubody_video import DONE_MARKER, source_index, video_stem  # noqa: E402


def write_video(path: Path, n_frames: int, fps: float, size=(64, 48)) -> None:
    """An MJPG video whose frame i is uniformly grey at level 10 * i (readable back within a few levels)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(n_frames):
        writer.write(np.full((size[1], size[0], 3), 10 * i + 5, np.uint8))
    writer.release()


def levels(frame_dir: Path) -> list:
    """Source frame index shown by each PNG of ``frame_dir``, in name order."""
    names = sorted(p for p in frame_dir.glob("*.png"))
    return [int(round((cv2.imread(str(p)).mean() - 5) / 10)) for p in names]


def test_frames_are_numbered_from_000001_at_the_same_rate(tmp_path):
    write_video(tmp_path / "videos/Fitness/clip.avi", 12, 30)
    assert video2image.main(["--root", str(tmp_path), "--workers", "1"]) == 0
    out = tmp_path / "images/Fitness/clip"
    assert sorted(p.name for p in out.glob("*.png")) == [f"{i:06d}.png" for i in range(1, 13)]
    assert levels(out) == list(range(12))
    marker = json.loads((out / DONE_MARKER).read_text())
    assert marker["frames"] == 12 and marker["fps"] == 30.0


@pytest.mark.parametrize(
    ("src_fps", "n_frames", "fps", "expected"),
    [
        (15, 5, 30, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]),  # upsampled: each frame twice
        (60, 12, 30, [0, 2, 4, 6, 8, 10]),  # downsampled: every other frame
        (30, 9, 20, [0, 1, 3, 4, 6, 7]),  # 2/3 of the frames, nearest in time
    ],
)
def test_resampling_by_timestamps(tmp_path, src_fps, n_frames, fps, expected):
    write_video(tmp_path / "videos/Speech/v.avi", n_frames, src_fps)
    assert video2image.main(["--root", str(tmp_path), "--fps", str(fps), "--workers", "1"]) == 0
    assert levels(tmp_path / "images/Speech/v") == expected


def test_source_index_is_nearest_in_time():
    assert [source_index(k, 25, 30) for k in range(7)] == [0, 1, 2, 2, 3, 4, 5]
    assert [source_index(k, 30, 30) for k in range(5)] == [0, 1, 2, 3, 4]


def test_dotted_names_lose_only_the_last_extension(tmp_path):
    write_video(tmp_path / "videos/TalkShow/sub/show.2021.05.avi", 3, 30)
    assert video_stem("a.b.mp4") == "a.b" and video_stem("noext") == "noext"
    assert video2image.main(["--root", str(tmp_path), "--workers", "1"]) == 0
    assert len(list((tmp_path / "images/TalkShow/sub/show.2021.05").glob("*.png"))) == 3


def test_done_videos_are_skipped_and_half_written_ones_redone(tmp_path, capsys):
    write_video(tmp_path / "videos/Movie/a.avi", 6, 30)
    write_video(tmp_path / "videos/Movie/b.avi", 4, 30)
    assert video2image.main(["--root", str(tmp_path), "--workers", "1"]) == 0
    done_a = tmp_path / "images/Movie/a/000001.png"
    mtime = done_a.stat().st_mtime_ns
    half = tmp_path / "images/Movie/b"
    (half / DONE_MARKER).unlink()  # as if interrupted before the end
    (half / "000004.png").unlink()
    (half / "000099.png").write_bytes(b"stale")  # a leftover of an older, longer run
    (half / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert video2image.main(["--root", str(tmp_path), "--workers", "1"]) == 0
    assert "2 videos: 1 converted (4 frames), 1 already done, 0 failed" in capsys.readouterr().out
    assert done_a.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in half.glob("*.png")) == [f"{i:06d}.png" for i in range(1, 5)]
    assert (half / DONE_MARKER).is_file() and (half / "notes.txt").read_text() == "keep me"


def test_other_fps_than_the_marker_is_redone(tmp_path):
    write_video(tmp_path / "videos/Olympic/a.avi", 8, 30)
    assert video2image.main(["--root", str(tmp_path), "--workers", "1"]) == 0
    assert video2image.main(["--root", str(tmp_path), "--fps", "15", "--workers", "1"]) == 0
    assert levels(tmp_path / "images/Olympic/a") == [0, 2, 4, 6]


def test_broken_video_is_named_and_the_others_go_on(tmp_path, capsys):
    write_video(tmp_path / "videos/Singing/good.avi", 5, 30)
    bad = tmp_path / "videos/Singing/bad.mp4"
    bad.write_bytes(b"\x00not a video at all" * 50)
    write_video(tmp_path / "videos/TVShow/also_good.avi", 2, 30)
    assert video2image.main(["--root", str(tmp_path), "--workers", "2"]) == 3
    err_lines = [ln for ln in capsys.readouterr().err.splitlines() if "error:" in ln]
    assert len(err_lines) == 1 and str(bad) in err_lines[0]
    assert len(list((tmp_path / "images/Singing/good").glob("*.png"))) == 5
    assert len(list((tmp_path / "images/TVShow/also_good").glob("*.png"))) == 2
    assert not (tmp_path / "images/Singing/bad" / DONE_MARKER).exists()


def test_missing_videos_folder_is_a_clear_error(tmp_path, capsys):
    assert video2image.main(["--root", str(tmp_path / "nowhere")]) == 2
    assert "videos does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("fps", ["nan", "inf", "-5", "0", "1e9"])
def test_an_impossible_frame_rate_is_refused_before_any_frame(tmp_path, capsys, fps):
    # an infinite rate would repeat the first frame without end (a disk filled, never an exit)
    write_video(tmp_path / "videos/Speech/v.avi", 3, 30.0)
    assert video2image.main(["--root", str(tmp_path), "--fps", fps, "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("video2image.py: error: --fps must be")
    assert not (tmp_path / "images").exists() or not any((tmp_path / "images").rglob("*.png"))


def test_a_header_without_a_usable_rate_keeps_every_frame():
    from dwpose.datasets.ubody_video import resample

    for src in (0.0, float("nan"), float("inf")):
        assert list(resample(iter("abc"), src, 30.0)) == ["a", "b", "c"]
