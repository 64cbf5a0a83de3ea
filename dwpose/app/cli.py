"""``dwpose app``: the pose pipeline of ``dwpose predict`` as a web page (Gradio), on 127.0.0.1 by default.

Examples::

    dwpose app --pose dw-ll_ucoco_384.onnx --det yolox_l.onnx            # http://127.0.0.1:7860
    dwpose app --models ckpts/ --det ckpts/yolox_l.onnx --port 8080      # picker over a folder of models
    dwpose app --pose CONFIG.py CHECKPOINT.pth --det det.onnx --host 0.0.0.0   # reachable from the network
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from dwpose.errors import UserError
from dwpose.inference.canvas_options import add_canvas_arguments, canvas_style
from dwpose.inference.options import port_number, positive_int, unit_float
from dwpose.inference.runtime import check_device, use_shared_thread_pool, warn_once
from dwpose.inference.sources import silence_opencv_logging

MAX_UPLOAD = "200mb"
QUEUE_SIZE = 64
OFFLINE_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",  # no usage reports, no version check
    "HF_HUB_OFFLINE": "1",  # huggingface_hub (a Gradio dependency) never reaches the Hub
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``dwpose app``."""
    parser.add_argument(
        "--pose",
        nargs="+",
        metavar="MODEL",
        help="pose model shown first: MODEL.onnx or CONFIG CHECKPOINT (as dwpose predict --pose)",
    )
    parser.add_argument(
        "--models",
        type=Path,
        metavar="DIR",
        help="folder of pose models for the page's picker: *.onnx files and config + checkpoint pairs "
        "(config.py + config.pth, or a work dir with one .py and its .pth files), also one level down",
    )
    parser.add_argument(
        "--det",
        nargs="+",
        required=True,
        metavar="DETECTOR",
        help="person detector: DET.onnx or CONFIG CHECKPOINT (as dwpose predict --det)",
    )
    parser.add_argument(
        "--det-threshold", type=unit_float, default=0.3, help="person box score threshold (default 0.3)"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu), as dwpose predict")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)",
    )
    parser.add_argument("--port", type=port_number, default=7860, help="port (default 7860)")
    parser.add_argument(
        "--share",
        action="store_true",
        help="also publish the page through a public gradio.live link (Gradio's tunnel; needs the internet)",
    )
    parser.add_argument(
        "--max-frames",
        type=positive_int,
        default=300,
        help="frames of an uploaded video that are processed, at most (default 300)",
    )
    add_canvas_arguments(parser, draw_feet=False)


def check_port_free(host: str, port: int) -> None:
    """UserError (one error line) when ``host:port`` cannot be bound: in use, or not this machine's."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UserError(
                f"cannot serve on {host}:{port} ({exc.strerror or exc}): is another program using the port? "
                "pick another with --port"
            ) from None


def check_gradio() -> None:
    """UserError (one error line) when Gradio is not installed; found without importing it."""
    if importlib.util.find_spec("gradio") is None:
        raise UserError("dwpose app needs Gradio: pip install -e '.[app]' (make install puts it in .venv)")


def run(args: argparse.Namespace) -> int:
    """Serve the page until interrupted. User mistakes (missing model, port in use, ...) raise
    UserError / FileNotFoundError before anything is served (one error line, exit 2)."""
    from dwpose.app.catalog import ModelCatalog, entry_for, find_models
    from dwpose.app.service import Settings, WorkArea

    silence_opencv_logging()
    check_device(args.device)
    if args.pose is None and args.models is None:
        raise UserError("give a pose model with --pose MODEL, or a folder of models with --models DIR")
    check_port_free(args.host, args.port)
    check_gradio()
    entries = []
    if args.pose is not None:
        entries.append(entry_for(args.pose, args.models))
    if args.models is not None:
        det_files = [Path(p) for p in args.det]
        given = {e.label for e in entries}
        entries += [e for e in find_models(args.models, det_files) if e.label not in given]
        if not entries:
            raise UserError(f"no pose models in {args.models} (looked for *.onnx and config + .pth pairs)")
    use_shared_thread_pool()
    catalog = ModelCatalog(entries, args.det, args.device, args.det_threshold)
    first = entries[0].label
    catalog.pipeline(first)  # a model that does not load stops here, with one error line
    work = WorkArea()
    try:
        serve(args, catalog, work, Settings(max_frames=args.max_frames, style=canvas_style(args)), first)
    finally:
        work.close()
    return 0


def serve(args: argparse.Namespace, catalog, work, defaults, first: str) -> None:
    """Build the page and serve it (blocks until Ctrl-C)."""
    os.environ.update(OFFLINE_ENV)  # before Gradio is imported: it reads them at import
    from dwpose.app.page import build_page

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        warn_once(
            f"serving on {args.host}: anyone who can reach this machine on port {args.port} can use the page"
        )
    if args.share:
        warn_once("--share: the page gets a public gradio.live address; anyone with the link can use it")
    print(f"dwpose app: {catalog.describe(first)}", flush=True)
    page = build_page(catalog, work, defaults, first)
    page.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    page.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        max_file_size=MAX_UPLOAD,
        show_error=True,
        prevent_thread_lock=True,
    )
    stop = threading.Event()  # SIGTERM (a service manager, a test) stops it cleanly, as Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:  # Ctrl-C: KeyboardInterrupt goes on to the exit status 130 after the server is closed
        page.close()
    print("dwpose app: stopped", file=sys.stderr)
