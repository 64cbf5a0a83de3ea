"""``dwpose app``: a Gradio page on top of the pipeline of ``dwpose predict``.

- :mod:`dwpose.app.catalog`: the pose models the page offers (a folder of ONNX files or config +
  checkpoint pairs), loaded on demand and kept loaded, with the person detector shared by all.
- :mod:`dwpose.app.service`: one upload -> ``dwpose predict``'s own ``predict_image`` / ``predict_video``
  -> what the page shows (overlay, per-person table, files to download). No Gradio in it.
- :mod:`dwpose.app.page`: the Gradio layout and its handlers (imports Gradio).
- :mod:`dwpose.app.cli`: the ``dwpose app`` sub-command.
- :mod:`dwpose.app.browser`: headless Chromium driving the page (the tests and ``tools/app_screenshot.py``).
"""
