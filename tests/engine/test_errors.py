"""The shared user-error rule (dwpose/errors.py): mistakes become one line and exit 2, bugs raise."""

from __future__ import annotations

import pytest

from dwpose.errors import UserError, guarded, user_error_message


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (FileNotFoundError("config a.py does not exist"), "config a.py does not exist"),
        (UserError("bad value\nsecond line"), "bad value"),
        (OSError("failed to load image: data/x.jpg"),
         "cannot decode image data/x.jpg (corrupt or not an image)"),
        (AssertionError("Annotation file `a.json`does not exist"),
         "Annotation file a.json does not exist "
         "(is data_root right? --cfg-options data_root=DIR/ moves every data path)"),
        (KeyError("Foo is not in the mmpose::model registry"),
         "config names an unknown component: Foo is not in the mmpose::model registry"),
        (OSError("[Errno 2] No such file or directory: 'w/x.pth'"), "file not found: w/x.pth"),
    ],
)
def test_user_mistakes_map_to_one_line(exc, expected):
    assert user_error_message(exc) == expected


@pytest.mark.parametrize("exc", [
    ZeroDivisionError("x"), KeyError("shape"), AssertionError("a == b"),
    ValueError("operands could not be broadcast"), AssertionError("`img` is not found in results"),
    KeyError("no registry entry named shape"),
])
def test_bugs_are_not_user_mistakes(exc):
    assert user_error_message(exc) is None


def test_guarded_exit_codes(capsys):
    assert guarded(lambda: 3, prog="p") == 3
    assert guarded(lambda: None, prog="p") == 0

    def missing():
        raise FileNotFoundError("no such thing")

    assert guarded(missing, prog="p") == 2
    assert capsys.readouterr().err == "p: error: no such thing\n"

    def interrupted():
        raise KeyboardInterrupt

    assert guarded(interrupted, prog="p") == 130

    def bug():
        raise ZeroDivisionError("division by zero")

    with pytest.raises(ZeroDivisionError):
        guarded(bug, prog="p")
