"""Concurrent clients against the real Cog HTTP server (``python -m cog.server.http``): answers and latency.

Starts the server on ``--predictor`` once per ``--slots`` value (``COG_MAX_CONCURRENCY``), each with
its own ``TMPDIR``. Then: one client alone, and ``--clients`` threads sending ``--rounds`` requests
each, all released at once per round, cycling over the photos in ``--images``; the answers are counted
(succeeded with both outputs, failed, HTTP 409 "At capacity") with latency p50 / p95 / max and
requests/s. Last, ``--soak`` requests one after another (a 409 is retried and counted): the coglet
worker's resident memory after the 20th and the last, what is left in ``TMPDIR`` and how many folders
Cog added to ``/tmp/coglet/predictions``. Prints two markdown tables.

Usage::

    python tools/analysis/benchmark_cog.py [--pose MODEL.onnx | --config CONFIG.py] \\
        [--det ../shared/weights/rtmdet-nano_person_end2end.onnx] \\
        [--images ../shared/data/coco-wholebody-mini/images] [--clients 32] [--rounds 3] [--slots 1 64] \\
        [--soak 300] [--predictor predict.py:Predictor]

Without ``--pose``, the RTMPose-t config is built with random weights and exported to a temporary
ONNX (speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Tuple

import _bench
from tqdm import tqdm

from dwpose.errors import guarded


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pose", type=Path, help="pose ONNX (DWPose I/O); default: export --config")
    p.add_argument("--config", type=Path, default=_bench.RTMPOSE_T, help="mmpose config used without --pose")
    p.add_argument("--det", type=Path, default=_bench.DETECTOR)
    p.add_argument("--images", type=Path, default=_bench.COCO_MINI / "images")
    p.add_argument("--clients", type=int, default=32, help="clients sending at the same moment")
    p.add_argument("--rounds", type=int, default=3, help="requests per client (one per round)")
    p.add_argument("--slots", type=int, nargs="+", default=[1, 64], help="COG_MAX_CONCURRENCY values to run")
    p.add_argument("--soak", type=int, default=300, help="sequential requests for memory and files (0: none)")
    p.add_argument("--predictor", default="predict.py:Predictor", help="COG_PREDICT_TYPE_STUB (FILE:CLASS)")
    args = p.parse_args()
    if args.clients < 1 or args.rounds < 1 or min(args.slots) < 1 or args.soak < 0:
        p.error("--clients, --rounds and --slots must be at least 1, --soak at least 0")
    return args


def post(url: str, payload: bytes) -> Tuple[int, dict, float]:
    """``(HTTP status, JSON body, seconds)`` of one prediction request."""
    start = time.perf_counter()
    req = urllib.request.Request(url, payload, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            status, body = resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        status, body = err.code, json.loads(err.read() or b"{}")
    return status, body, time.perf_counter() - start


class Server:
    """``python -m cog.server.http`` on a free port, with its own TMPDIR; a context manager."""

    def __init__(self, predictor: str, pose: Path, det: Path, slots: int, folder: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.tmpdir = folder / "tmp"
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            COG_PREDICT_TYPE_STUB=predictor,
            PYTHONPATH=os.pathsep.join(filter(None, [str(_bench.REPO), os.environ.get("PYTHONPATH")])),
            PORT=str(port),
            COG_MAX_CONCURRENCY=str(slots),
            TMPDIR=str(self.tmpdir),
            DWPOSE_POSE_MODEL=str(pose),
            DWPOSE_DET_MODEL=str(det),
            PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        )
        self.log = open(folder / "server.log", "wb")  # closed in __exit__
        command = [sys.executable, "-m", "cog.server.http", "--host", "127.0.0.1"]
        self.proc = subprocess.Popen(
            command, cwd=_bench.REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/health-check", timeout=5) as resp:
                    if json.loads(resp.read()).get("status") == "READY":
                        return self
            except OSError:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise SystemExit(f"error: the cog server did not start; see {self.log.name}")

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def run_clients(url: str, payloads: List[bytes], clients: int, rounds: int) -> Dict[str, object]:
    """``clients`` threads, ``rounds`` requests each released together; counts and latencies."""
    results: List[Tuple[int, dict, float]] = []
    lock, barrier = threading.Lock(), threading.Barrier(clients)

    def client(i: int) -> None:
        for r in range(rounds):
            barrier.wait()
            res = post(f"{url}/predictions", payloads[(i + r) % len(payloads)])
            with lock:
                results.append(res)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ok = [
        s
        for st, body, s in results
        if st == 200 and body.get("status") == "succeeded" and len(body["output"]) == 2
    ]
    ms = sorted(s * 1000 for s in ok) or [float("nan")]
    return {
        "requests": len(results),
        "answered": len(ok),
        "refused_409": sum(st == 409 for st, _, _ in results),
        "failed": len(results) - len(ok) - sum(st == 409 for st, _, _ in results),
        "p50": statistics.median(ms),
        "p95": ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))],
        "max": ms[-1],
        "wall": wall,
        "rate": len(ok) / wall,
    }


def worker_rss_mb(server_pid: int) -> float:
    """Resident memory of the coglet worker (``python -c "... _run_worker()"``, a child of the server)."""
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == server_pid and b"_run_worker" in (entry / "cmdline").read_bytes():
                status = (entry / "status").read_text().split("VmRSS:")[1]
                return int(status.split()[0]) / 1024
        except (OSError, IndexError, ValueError):
            continue
    raise SystemExit(f"error: no coglet worker under the server process {server_pid}")


def coglet_folders() -> int:
    folder = Path("/tmp/coglet/predictions")  # coglet 0.23.1's own per-prediction folders, not in TMPDIR
    return len(os.listdir(folder)) if folder.is_dir() else 0


def soak(server: Server, payloads: List[bytes], n: int) -> Dict[str, object]:
    """``n`` requests one after another: memory, refusals, and what stays behind."""
    before, coglet_before, refused, rss_20 = set(server.tmpdir.rglob("*")), coglet_folders(), 0, 0.0
    for i in tqdm(range(1, n + 1), desc="soak", unit="request", file=sys.stderr):
        status, body, _ = post(f"{server.url}/predictions", payloads[0])
        while status == 409:
            refused += 1
            time.sleep(0.05)
            status, body, _ = post(f"{server.url}/predictions", payloads[0])
        if status != 200 or body.get("status") != "succeeded":
            raise SystemExit(f"error: request {i} failed: {status} {str(body)[:300]}")
        if i == min(20, n):
            rss_20 = worker_rss_mb(server.proc.pid)
    time.sleep(1.0)  # the last request's files are read and removed just after its answer
    left = [p for p in set(server.tmpdir.rglob("*")) - before]
    return {
        "rss_20": rss_20,
        "rss_end": worker_rss_mb(server.proc.pid),
        "refused_409": refused,
        "left_folders": sum(p.is_dir() for p in left),
        "left_files": sum(p.is_file() for p in left),
        "left_kb": sum(p.stat().st_size for p in left if p.is_file()) / 1024,
        "coglet_folders": coglet_folders() - coglet_before,
    }


def _main() -> None:
    args = parse_args()
    photos = _bench.photos(args.images)
    if not photos or not args.det.is_file():
        raise SystemExit(f"error: need photos in {args.images} and the detector {args.det}")
    payloads = [
        json.dumps(
            {"input": {"image": f"data:image/jpeg;base64,{base64.b64encode(p.read_bytes()).decode()}"}}
        ).encode()
        for p in photos
    ]
    load, rows, soaks = os.getloadavg()[0], [], []
    with tempfile.TemporaryDirectory(prefix="benchmark-cog-") as tmp:
        pose = args.pose or _bench.export_pose_onnx(Path(tmp) / "pose.onnx", args.config)
        for slots in args.slots:
            print(f"[benchmark] COG_MAX_CONCURRENCY={slots}: starting the server", file=sys.stderr)
            with Server(args.predictor, pose, args.det, slots, Path(tmp) / f"slots{slots}") as server:
                print(f"[benchmark] one client, then {args.clients} at once x {args.rounds}", file=sys.stderr)
                run_clients(server.url, payloads, 1, len(photos))  # warm-up
                rows.append((slots, 1, run_clients(server.url, payloads, 1, args.clients * args.rounds)))
                rows.append(
                    (slots, args.clients, run_clients(server.url, payloads, args.clients, args.rounds))
                )
                if args.soak:
                    soaks.append((slots, soak(server, payloads, args.soak)))
    machine = _bench.machine(("onnxruntime", "cog"))
    print(f"Predictor: {args.predictor}. Machine: {machine}; load average before: {load:.2f}\n")
    print("| COG_MAX_CONCURRENCY | clients at once | requests | answered | refused (409) | failed "
          "| p50 ms | p95 ms | max ms | requests/s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for slots, clients, r in rows:
        counts = f"{r['requests']} | {r['answered']} | {r['refused_409']} | {r['failed']}"
        times = f"{r['p50']:.0f} | {r['p95']:.0f} | {r['max']:.0f} | {r['rate']:.1f}"
        print(f"| {slots} | {clients} | {counts} | {times} |")
    if soaks:
        print(f"\n{args.soak} requests one after another:\n")
        print("| COG_MAX_CONCURRENCY | refused (409, retried) | worker RSS at 20th | at last | growth "
              "| left in TMPDIR | folders added to /tmp/coglet/predictions |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
        for slots, r in soaks:
            rss = f"{r['rss_20']:.1f} MB | {r['rss_end']:.1f} MB | {r['rss_end'] - r['rss_20']:+.1f} MB"
            left = f"{r['left_folders']} folders, {r['left_files']} files ({r['left_kb'] / 1024:.1f} MB)"
            print(f"| {slots} | {r['refused_409']} | {rss} | {left} | {r['coglet_folders']} |")


def main(*args, **kwargs) -> int:
    """:func:`_main` through :func:`dwpose.errors.guarded` (a user mistake: one ``error:`` line, status 2)."""
    return guarded(lambda: _main(*args, **kwargs), prog="tools/analysis/benchmark_cog.py")


if __name__ == "__main__":
    sys.exit(main())
