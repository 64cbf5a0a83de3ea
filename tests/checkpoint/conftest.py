"""Session fixture: every checkpoint format, built once for real (see formats.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def formats(tmp_path_factory, demo_data):
    pytest.importorskip("mmpose")
    import dwpose.plugin  # noqa: F401  registers the project's hooks and models
    from tests.checkpoint.formats import build_formats
    from tests.distiller.helpers import single_thread

    with single_thread():  # tiny models: one thread is no slower and kinder to shared cores
        return build_formats(tmp_path_factory.mktemp("checkpoint_formats"), demo_data)
