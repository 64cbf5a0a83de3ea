"""The real page in headless Chromium: upload a real photo, see the drawing, download the JSON, survive a
broken upload, switch the model. Chromium and ChromeDriver are the machine's (``.ci/run`` installs
Debian's); without them the test skips and says why."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from dwpose.app.browser import AppPage, find_chromium, headless_chromium, wait_for
from tests.app.conftest import REPO, app_command
from tests.inference.fakes import still_clip

pytestmark = pytest.mark.slow
DRAW_MARGIN = 8  # px around the drawn keypoints that circles and anti-aliasing may reach


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _, _, why = find_chromium()
    if why:
        print(f"\ntests/app/test_browser.py skipped: {why}")
        pytest.skip(f"headless Chromium is not available: {why}")
    downloads = tmp_path_factory.mktemp("downloads")
    with headless_chromium(downloads) as driver:
        yield SimpleNamespace(driver=driver, downloads=downloads)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def _predict_cli(photo: Path, model: Path, detector: Path, out: Path) -> dict:
    """What ``dwpose predict`` writes as OpenPose JSON for ``photo``."""
    cmd = app_command()[:3] + [
        "predict",
        str(photo),
        "--pose",
        str(model),
        "--det",
        str(detector),
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / f"{photo.stem}.json").read_text())


def _drawn_points(openpose: dict, threshold: float = 0.3) -> list:
    """Per person, the ``(M, 2)`` keypoints the drawing shows (score at or above the threshold)."""
    people = []
    for person in openpose["people"]:
        triplets = np.concatenate([np.reshape(v, (-1, 3)) for k, v in person.items() if k.endswith("_2d")])
        people.append(triplets[triplets[:, 2] >= threshold, :2])
    return people


def _downloaded(folder: Path, name: str) -> Path:
    path = folder / name
    wait_for(lambda: path.is_file() and not list(folder.glob("*.crdownload")), 30, f"download of {name}")
    return path


def test_the_page_end_to_end(app_server, browser, photos, tmp_path):
    photo = tmp_path / "people.jpg"
    shutil.copy(photos[3], photo)
    page = AppPage(browser.driver, app_server.url)
    info = page.text("#model-info")
    assert "a.onnx on cpu: pose model onnxruntime CPUExecutionProvider, detector onnxruntime" in info

    # 1. a real photo: the drawing is shown, and differs from the photo exactly where people are
    page.upload(photo)
    status = page.run()
    expected = _predict_cli(photo, app_server.models.a, app_server.detector, tmp_path / "cli")
    n = len(expected["people"])
    assert n >= 2 and status == f"{n} person(s) in people.jpg"
    src = wait_for(page.overlay_src, 30, "the drawing")
    shown = cv2.imdecode(np.frombuffer(_fetch(src), np.uint8), cv2.IMREAD_COLOR)
    original = cv2.imread(str(photo))
    assert shown.shape == original.shape
    changed = np.any(shown != original, axis=-1)
    near_people = np.zeros_like(changed)
    for points in _drawn_points(expected):
        (x1, y1), (x2, y2) = points.min(0) - DRAW_MARGIN, points.max(0) + DRAW_MARGIN
        near_people[max(0, int(y1)) : int(y2) + 1, max(0, int(x1)) : int(x2) + 1] = True
    assert changed.sum() > 0.01 * near_people.sum()
    assert not (changed & ~near_people).any()  # nothing drawn away from the people

    # 2. the table: one row per person, boxes where the people are
    rows = wait_for(lambda: [r for r in page.table() if r[0]], 30, "the table")
    assert [r[0] for r in rows] == [str(i) for i in range(n)]
    for row in rows:
        x1, y1, x2, y2 = (int(v) for v in row[1].split(", "))
        assert changed[y1:y2, x1:x2].any()

    # 3. the OpenPose JSON, downloaded by the browser, is what `dwpose predict` writes
    assert sorted(page.download_links()) == ["people.json", "people.npz", "people.png"]
    page.click_download("people.json")
    got = json.loads(_downloaded(browser.downloads, "people.json").read_text())
    assert len(got["people"]) == n
    for a, b in zip(_drawn_points(got, 0), _drawn_points(expected, 0)):
        np.testing.assert_allclose(a, b, atol=1e-3)

    # 4. a broken upload: a readable line on the page, nothing stale shown
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photo.read_bytes()[:5000])
    page.upload(broken)
    status = page.run()
    assert status.startswith("error: cannot decode image broken.jpg") and "corrupt or not an image" in status
    assert page.overlay_src() is None and page.download_links() == {}

    # 5. ... and the page keeps working; the other model of the picker gives other keypoints
    page.pick_model("b.onnx")
    wait_for(lambda: "b.onnx on cpu" in page.text("#model-info"), 60, "the model switch")
    page.upload(photo)
    status = page.run()
    assert status == f"{n} person(s) in people.jpg"
    links = wait_for(page.download_links, 30, "the downloads")
    other = json.loads(_fetch(links["people.json"]))
    assert len(other["people"]) == n
    assert not np.allclose(_drawn_points(other, 0)[0], _drawn_points(expected, 0)[0])

    # 6. everything the page loaded came from this server: no CDN, no fonts from elsewhere
    loaded = browser.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(app_server.url + "/") for url in loaded), loaded


def test_a_video_plays_in_the_page(app_server, browser, photos, tmp_path):
    clip = still_clip(tmp_path / "clip.mp4", photos[3], 4)
    page = AppPage(browser.driver, app_server.url)
    page.upload(clip)
    assert page.run().startswith("4 frame(s) of clip.mp4")
    size = wait_for(
        lambda: browser.driver.execute_script(
            "const v = document.querySelector('#overlay-video video');"
            "return v && v.readyState >= 1 ? [v.videoWidth, v.videoHeight] : null;"
        ),
        30,
        "the overlay video to load in the browser",
    )
    assert size == [320, 212]  # Chromium decoded the WebM preview
    assert sorted(page.download_links()) == ["clip_json.zip", "clip_npz.zip", "clip_pose.mp4"]
    assert page.table()[0][:2] != ["", ""]
