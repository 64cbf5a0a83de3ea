"""Screenshot of the ``dwpose app`` page with a result, for README / docs (headless Chromium).

No trained pose weights are shipped, so the page runs the average-pose stand-in
(:mod:`dwpose.export.average_pose`, built from a COCO-WholeBody annotation file) with a real person
detector: the figure in each box is the data set's average pose, not that person's.

    python tools/app_screenshot.py \\
        --photo ../shared/data/coco-wholebody-mini/images/000000197388.jpg \\
        --annotations ../shared/data/coco-wholebody-mini/coco_wholebody_mini.json \\
        --det ../shared/weights/rtmdet-nano_person_end2end.onnx --out docs/app_screenshot.png
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dwpose.app.browser import AppPage, headless_chromium, wait_for  # noqa: E402
from dwpose.errors import guarded  # noqa: E402
from dwpose.export.average_pose import write_average_pose_onnx  # noqa: E402
from dwpose.fileio import require_file  # noqa: E402


def _serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, required=True)
    parser.add_argument(
        "--annotations", type=Path, required=True, help="COCO-WholeBody file for the stand-in"
    )
    parser.add_argument("--det", type=Path, required=True, help="person detector (ONNX)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "app_screenshot.png")
    parser.add_argument("--size", type=int, nargs=2, default=(1400, 1330), metavar=("W", "H"))
    args = parser.parse_args(argv)

    def run() -> int:
        require_file(args.photo, "photo")
        require_file(args.det, "detector")
        with tempfile.TemporaryDirectory(prefix="dwpose-shot-") as tmp:
            model = Path(tmp) / "average-pose_coco-wholebody-mini.onnx"
            write_average_pose_onnx(model, args.annotations)
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            cmd = [sys.executable, "-m", "dwpose.cli", "app", "--pose", str(model), "--det", str(args.det)]
            server = subprocess.Popen([*cmd, "--port", str(port)], cwd=ROOT)
            url = f"http://127.0.0.1:{port}"
            try:
                wait_for(lambda: server.poll() is not None or _serving(url + "/"), 120, "dwpose app")
                if server.poll() is not None:
                    raise RuntimeError(f"dwpose app exited with {server.returncode}")
                with headless_chromium() as driver:
                    driver.set_window_size(*args.size)
                    page = AppPage(driver, url)
                    page.upload(args.photo)
                    print(page.run())
                    wait_for(lambda: page.overlay_src() and page.table(), 30, "the result")
                    time.sleep(1)  # let the picture finish fading in
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    driver.save_screenshot(str(args.out))
            finally:
                server.terminate()
                server.wait(timeout=30)
        print(f"screenshot -> {args.out}")
        return 0

    return guarded(run, prog="app_screenshot.py")


if __name__ == "__main__":
    sys.exit(main())
