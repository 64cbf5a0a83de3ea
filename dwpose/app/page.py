"""The Gradio page of ``dwpose app``: layout and handlers (the work is done by :mod:`dwpose.app.service`).

Element ids (``elem_id``) name what a browser test or a user script looks for: ``upload``, ``webcam``,
``run``, ``run-webcam``, ``model``, ``model-info``, ``status``, ``overlay``, ``overlay-video``, ``people``,
``downloads``. The upload button's handler is the page's API endpoint ``/predict`` (``/predict_webcam``
for the snapshot), with the inputs in the order of :data:`API_INPUTS`.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any, List, Optional, Tuple

import gradio as gr
import pandas as pd

from dwpose.app.catalog import ModelCatalog
from dwpose.app.service import Analysis, Settings, WorkArea, analyse, user_message
from dwpose.inference.draw import PARTS

API_INPUTS = ("upload", "model", "threshold", "canvas", "parts", "track", "smooth")
CANVASES = [("photo", "image"), ("black (ControlNet conditioning)", "black")]
INTRO = """# DWPose: whole-body keypoints
Upload a picture or a short video (or take a webcam snapshot), press **Estimate poses**. You get the
drawing, a table per person and the files `dwpose predict` writes: the Cog `.npz`, OpenPose JSON and
the picture / video."""


class PageHandlers:
    """What the page's buttons and picker do; one instance per server (state is the catalog's)."""

    def __init__(self, catalog: ModelCatalog, work: WorkArea, defaults: Settings) -> None:
        self.catalog, self.work, self.defaults = catalog, work, defaults

    def model_info(self, label: str) -> Tuple[str, str]:
        """(model line, status) after the picker changed; a model that does not load is reported."""
        try:
            return f"**Model:** {self.catalog.describe(label)}", f"Model {label} is ready."
        except Exception as exc:  # noqa: BLE001 - shown on the page, the server keeps serving
            return f"**Model:** {label} (not loaded)", self._error_text(exc)

    def predict(
        self,
        upload: Optional[str],
        model: str,
        threshold: float,
        canvas: str,
        parts: List[str],
        track: bool,
        smooth: bool,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to inject the progress bar
    ) -> Tuple[Any, ...]:
        """Status, overlay image, overlay video, table, downloads: the outputs of the run buttons."""
        if not upload:
            return self._empty("Choose a picture or a video first (or take a webcam snapshot).")
        path = Path(upload)
        settings = Settings(
            threshold, canvas, tuple(parts or ()), bool(track), bool(smooth), self.defaults.max_frames,
            self.defaults.style,
        )
        try:  # analyse() checks the settings (an API client can send any value)
            pipeline = self.catalog.pipeline(model)
            result = analyse(
                pipeline, path, self.work.new(), settings, lambda f, what: progress(f, desc=what)
            )
        except Exception as exc:  # noqa: BLE001 - shown on the page, the server keeps serving
            return self._empty(self._error_text(exc))
        return self._shown(result)

    @staticmethod
    def _error_text(exc: BaseException) -> str:
        message = user_message(exc)
        if message is None:  # a bug: the traceback goes to the server's log
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
            message = f"internal error ({type(exc).__name__}: {exc}); the server log has the traceback"
        return f"**error:** {message}"

    @staticmethod
    def _empty(status: str) -> Tuple[Any, ...]:
        return (
            status,
            gr.update(value=None, visible=True),
            gr.update(value=None, visible=False),
            pd.DataFrame(columns=["ID"]),
            None,
        )

    @staticmethod
    def _shown(result: Analysis) -> Tuple[Any, ...]:
        video = result.kind == "video"
        status = result.summary
        if video and result.picture is None:
            status += " (no WebM encoder in this OpenCV: download the overlay video to watch it)"
        return (
            status,
            gr.update(value=None if video else str(result.picture), visible=not video),
            gr.update(value=str(result.picture) if video and result.picture else None, visible=video),
            pd.DataFrame(result.rows, columns=result.headers),
            [str(p) for p in result.downloads],
        )


def build_page(catalog: ModelCatalog, work: WorkArea, defaults: Settings, model: str) -> gr.Blocks:
    """The page, with ``model`` picked at first (its handlers: :class:`PageHandlers`)."""
    handlers = PageHandlers(catalog, work, defaults)
    first_info, _ = handlers.model_info(model)
    with gr.Blocks(title="DWPose", delete_cache=(3600, 3600)) as page:
        gr.Markdown(INTRO)
        with gr.Row():
            picker = gr.Dropdown(catalog.labels, value=model, label="Pose model", elem_id="model", scale=1)
            info = gr.Markdown(first_info, label="model", elem_id="model-info")
        with gr.Row():
            with gr.Column(scale=1):
                with gr.Tab("Picture or video"):
                    upload = gr.File(label="Picture or short video", type="filepath", elem_id="upload")
                    run = gr.Button("Estimate poses", variant="primary", elem_id="run")
                with gr.Tab("Webcam"):
                    webcam = gr.Image(
                        sources=["webcam"], type="filepath", label="Webcam snapshot", elem_id="webcam"
                    )
                    run_webcam = gr.Button("Estimate poses", variant="primary", elem_id="run-webcam")
                threshold = gr.Slider(0, 1, value=defaults.threshold, step=0.05, label="Keypoint threshold")
                canvas = gr.Radio(CANVASES, value=defaults.canvas, label="Draw on")
                parts = gr.CheckboxGroup(list(PARTS), value=list(defaults.parts), label="Parts to draw")
                with gr.Accordion("Video", open=False):
                    track = gr.Checkbox(value=defaults.track, label="Track people (stable IDs)")
                    smooth = gr.Checkbox(value=defaults.smooth, label="Smooth keypoints (One-Euro)")
                    gr.Markdown(f"At most {defaults.max_frames} frames of a video are processed.")
            with gr.Column(scale=2):
                status = gr.Markdown("", label="status", elem_id="status")
                overlay = gr.Image(
                    label="Poses (picture)", type="filepath", interactive=False, elem_id="overlay"
                )
                overlay_video = gr.Video(
                    label="Poses (video)", interactive=False, visible=False, elem_id="overlay-video"
                )
                people = gr.Dataframe(label="People", interactive=False, elem_id="people")
                downloads = gr.File(
                    label="Downloads", file_count="multiple", interactive=False, elem_id="downloads"
                )
        settings = [picker, threshold, canvas, parts, track, smooth]
        outputs = [status, overlay, overlay_video, people, downloads]
        run.click(handlers.predict, [upload, *settings], outputs, api_name="predict")
        run_webcam.click(handlers.predict, [webcam, *settings], outputs, api_name="predict_webcam")
        picker.change(handlers.model_info, [picker], [info, status], api_name="model")
    return page
