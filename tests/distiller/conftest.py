"""Fixtures of the distiller tests: a plain teacher checkpoint per stage and distiller builders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.distiller.helpers import STUDENT_CFG, TEACHER_CFG, make_teacher_ckpt, single_thread


@pytest.fixture(scope="session", autouse=True)
def _registries():
    import dwpose.plugin  # noqa: F401  registers TwoStageDistiller and FrozenTeacherEMAHook


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


@pytest.fixture(scope="session")
def teacher_ckpt(tmp_path_factory) -> str:
    """Plain checkpoint of the demo teacher, random weights and BN statistics."""
    return make_teacher_ckpt(Path(tmp_path_factory.mktemp("teacher")) / "teacher.pth", TEACHER_CFG)


@pytest.fixture(scope="session")
def stage1_model_ckpt(tmp_path_factory) -> str:
    """Plain checkpoint of a student-sized model: the stage-2 teacher (a stage-1 export in real runs)."""
    return make_teacher_ckpt(Path(tmp_path_factory.mktemp("s1")) / "student_s1.pth", STUDENT_CFG, seed=1)

