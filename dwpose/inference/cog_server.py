"""Cog's HTTP server (``python -m cog.server.http``) with its worker on this very interpreter.

Cog 0.23.1's server starts the predictor's worker as ``python -c "import coglet; ..."``, with
``python`` looked up on ``PATH``: started as ``.venv/bin/python -m cog.server.http`` from a shell whose
``PATH`` lacks ``.venv/bin``, the worker is another Python without ``coglet`` and setup fails
(``No module named 'coglet'``, SETUP_FAILED). ``python -m dwpose.inference.cog_server ARGS`` puts
this interpreter first on ``PATH`` as ``python``, then runs Cog's server with ``ARGS`` (``--host``,
...); its environment variables (``COG_PREDICT_TYPE_STUB``, ``PORT``, ``COG_MAX_CONCURRENCY``) are
Cog's. ``COG_PREDICT_TYPE_STUB`` defaults to ``predict.py:Predictor`` here.
"""

from __future__ import annotations

import atexit
import os
import runpy
import shutil
import sys
import tempfile
from pathlib import Path


def python_first_on_path(executable: str = sys.executable) -> str:
    """Put a folder whose ``python`` is ``executable`` first on ``PATH``; returns that folder.

    A virtual environment's own ``bin`` is used as it is (a ``python`` link elsewhere would not find
    the environment's packages); another interpreter gets a private folder with a ``python`` link.
    """
    folder = Path(executable).parent
    if not (folder / "python").exists() or not os.path.samefile(folder / "python", executable):
        folder = Path(tempfile.mkdtemp(prefix="dwpose-cog-python-"))
        (folder / "python").symlink_to(executable)
        atexit.register(shutil.rmtree, folder, True)
    os.environ["PATH"] = str(folder) + os.pathsep + os.environ.get("PATH", "")
    return str(folder)


def main() -> None:
    """Run ``cog.server.http`` as ``__main__`` with this interpreter first on ``PATH``."""
    python_first_on_path()
    os.environ.setdefault("COG_PREDICT_TYPE_STUB", "predict.py:Predictor")
    sys.argv[0] = "cog.server.http"
    runpy.run_module("cog.server.http", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
