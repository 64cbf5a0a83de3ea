"""Files the package carries besides its modules: the configs.

``dwpose/configs`` holds every config of the project (``_base_/``, ``demo/``, ``wholebody_2d_keypoint/``
...). In a checkout it is a link to the top-level ``configs/`` folder, so an editable install reads
(and a training dumps) the checkout's own files under their real paths; a wheel carries a copy. Both
keep ``_base_`` inheritance working, as the relative layout is the same.

Example:
    >>> from dwpose.package_data import config_path
    >>> config_path("demo/rtmpose-student_demo.py").name
    'rtmpose-student_demo.py'
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def config_root() -> Path:
    """The folder of the configs (``configs/`` of a checkout, ``dwpose/configs/`` of a wheel), links
    resolved."""
    return Path(str(files("dwpose") / "configs")).resolve()


def config_path(relative: str) -> Path:
    """The shipped config ``relative`` (``demo/rtmpose-student_demo.py``) as an absolute path.

    Raises:
        FileNotFoundError: the package does not carry that file.
    """
    path = config_root() / relative
    if not path.is_file():
        raise FileNotFoundError(f"the package carries no config {relative!r} (looked in {config_root()})")
    return path
