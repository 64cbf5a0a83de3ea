"""Checkpoints whose pickle calls an allow-listed class to read a file, exhaust memory or block.

The payload is ``mmengine Config(None, None, PATH)`` planted in ``meta``: MMEngine's constructor
opens ``PATH`` and reads all of it. ``PATH`` is a temporary file with a known secret, ``/dev/zero``,
a FIFO nobody writes to, or ``/dev/stdin`` (a pipe the test keeps open). Every entry point must
refuse it with one ``error:`` line, quickly, with nothing opened: in-process, an audit hook records
every ``open`` of the payload; across processes, the FIFO is probed from the writer side (a reader
that opened it would let a non-blocking writer open succeed) and the secret must not appear.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.checkpoint.test_entry_points import _tool, _train_argv

REPO = Path(__file__).resolve().parents[2]
STUDENT_CFG = REPO / "configs/demo/rtmpose-student_demo.py"
SECRET = "payload-secret-7f3a9c"
REFUSED = re.compile(r"error: .*it calls mmengine Config with arguments")
_opened: list = []  # paths opened while a test watches (see _watch_opens)
_watched: set = set()


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _watched and isinstance(args[0], (str, bytes, os.PathLike)):
        if os.fsdecode(args[0]) in _watched:
            _opened.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


class ReadsFile:
    """Pickles as ``Config(None, None, path)``: MMEngine's constructor reads ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        from mmengine.config import Config

        return (Config, (None, None, self.path))


def plant(folder: Path, target: str, name: str) -> Path:
    """A checkpoint (tiny weights) whose ``meta.cfg`` is the payload reading ``target``."""
    path = folder / f"{name}.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}, "meta": {"epoch": 1, "iter": 1,
                                                             "cfg": ReadsFile(target)}},
               path, pickle_module=pickle)
    return path


@pytest.fixture
def secret_ckpt(tmp_path):
    """The file-read payload, and the secret file it names (watched for opens)."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    _watched.add(str(secret))
    _opened.clear()
    yield plant(tmp_path, str(secret), "reads_secret"), secret
    _watched.discard(str(secret))
    assert not _opened, f"the payload's file was opened: {_opened}"


def _one_error(code: int, err: str, prog: str) -> str:
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1, err
    assert lines[0].startswith(f"{prog}: error: ") and REFUSED.search(lines[0]), lines[0]
    assert SECRET not in err
    return lines[0]


def _call(main, argv, capsys, prog: str) -> None:
    start = time.monotonic()
    code = main(argv)
    out, err = capsys.readouterr()
    _one_error(code, err, prog)
    assert SECRET not in out
    assert time.monotonic() - start < 30


def test_reader_refuses_and_opens_nothing(secret_ckpt):
    from dwpose.engine.checkpoint import find_resumable_checkpoint, read_checkpoint, safe_loading

    path, _ = secret_ckpt
    with pytest.raises(ValueError, match="it calls mmengine Config with arguments"):
        read_checkpoint(path)
    with safe_loading(), pytest.raises(Exception, match="it calls mmengine Config with arguments"):
        torch.load(path, weights_only=True)  # MMEngine's own loads (resume, Pretrained) come here
    with pytest.raises(ValueError, match="mmengine Config"):
        find_resumable_checkpoint(_work_dir_with(path))


def _work_dir_with(ckpt: Path) -> Path:
    work = ckpt.parent / "work"
    work.mkdir(exist_ok=True)
    os.link(ckpt, work / "epoch_1.pth")
    (work / "last_checkpoint").write_text(str(work / "epoch_1.pth"))
    return work


def _image_and_boxes(folder: Path) -> list:
    image = folder / "a.jpg"
    cv2.imwrite(str(image), np.zeros((64, 48, 3), np.uint8))
    (folder / "boxes.json").write_text(json.dumps([[0, 0, 48, 64]]))
    return [str(image), "--boxes", str(folder / "boxes.json"), "--out", str(folder / "out")]


def test_every_entry_point_refuses_in_process(secret_ckpt, tmp_path, capsys, demo_data):
    from dwpose.cli import main as dwpose_main
    from dwpose.distiller.transfer import main as transfer_main

    path, _ = secret_ckpt
    _call(dwpose_main, ["predict", *_image_and_boxes(tmp_path), "--pose", str(STUDENT_CFG), str(path)],
          capsys, "dwpose")
    _call(dwpose_main, ["export", "onnx", str(STUDENT_CFG), str(path), str(tmp_path / "m.onnx")], capsys,
          "dwpose")
    _call(transfer_main, [str(path), str(tmp_path / "out.pth")], capsys, "pth_transfer.py")
    _call(_tool("test").main, [str(STUDENT_CFG), str(path), "--work-dir", str(tmp_path / "t")], capsys,
          "tools/test.py")
    train = _tool("train").main
    _call(train, _train_argv(tmp_path / "r", demo_data, "--resume", str(path)), capsys, "tools/train.py")
    _call(train, _train_argv(_work_dir_with(path), demo_data, "--resume"), capsys, "tools/train.py")
    _call(train, [*_train_argv(tmp_path / "l", demo_data), f"load_from={path}"], capsys, "tools/train.py")
    _call(train, [*_train_argv(tmp_path / "p", demo_data), "model.backbone.init_cfg._delete_=True",
                  "model.backbone.init_cfg.type=Pretrained",
                  f"model.backbone.init_cfg.checkpoint={path}"], capsys, "tools/train.py")
    assert not (tmp_path / "out").exists() and not (tmp_path / "m.onnx").exists()


def _limit_memory() -> None:
    """Children get 3 GiB of data: a regression reading /dev/zero fails there, not on the machine."""
    resource.setrlimit(resource.RLIMIT_DATA, (3 << 30, 3 << 30))


def _writer_sees_reader(fifo: Path) -> bool:
    """True if some process has ``fifo`` open for reading (a non-blocking writer open succeeds)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        assert exc.errno == errno.ENXIO, exc
        return False
    os.close(fd)  # let the blocked reader go (it reads EOF) so the child can end
    return True


def _run_cli(argv: list, tmp_path: Path, fifo: Path | None = None, timeout: float = 60) -> tuple:
    """Run ``argv`` (stdin: an open pipe nobody writes to); fail if it hangs or opens ``fifo``."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)}
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_limit_memory)
    deadline, opened = time.monotonic() + timeout, False
    while proc.poll() is None and time.monotonic() < deadline:
        opened = opened or (fifo is not None and _writer_sees_reader(fifo))
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
    out, err = proc.communicate()
    assert not opened, "the checkpoint reader opened the FIFO the payload names"
    assert proc.returncode is not None and proc.returncode > 0, f"hung or crashed: {err[-2000:]}"
    return proc.returncode, out, err


PY = sys.executable
CLI = {  # one real command per payload kind (each one a fresh interpreter)
    "zero": lambda ck, d: ([PY, "-m", "dwpose.cli", "export", "onnx", str(STUDENT_CFG), str(ck),
                            str(d / "m.onnx")], "dwpose"),
    "fifo": lambda ck, d: ([PY, "-m", "dwpose.cli", "predict", *_image_and_boxes(d), "--pose",
                            str(STUDENT_CFG), str(ck)], "dwpose"),
    "stdin": lambda ck, d: ([PY, str(REPO / "pth_transfer.py"), str(ck), str(d / "o.pth")],
                            "pth_transfer.py"),
    "file": lambda ck, d: ([PY, str(REPO / "tools/test.py"), str(STUDENT_CFG), str(ck), "--work-dir",
                            str(d / "w")], "tools/test.py"),
}


@pytest.mark.parametrize("kind", sorted(CLI))
def test_cli_refuses_each_payload_within_seconds(kind, tmp_path):
    fifo = None
    if kind == "fifo":
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    target = {"zero": "/dev/zero", "fifo": str(fifo), "stdin": "/dev/stdin", "file": str(secret)}[kind]
    argv, prog = CLI[kind](plant(tmp_path, target, kind), tmp_path)
    start = time.monotonic()
    code, out, err = _run_cli(argv, tmp_path, fifo)
    _one_error(code, err, prog)
    assert SECRET not in out
    assert time.monotonic() - start < 60
    assert not (tmp_path / "out").exists() and not (tmp_path / "m.onnx").exists()


class _Reduce:
    """Pickles as ``func(*args)`` for any global ``func``."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


@contextlib.contextmanager
def _poisoned_table(poison: bool):
    """While pickling, MMEngine's class-wide statistics table maps ``poison`` to ``numpy.dtype``
    (``HistoryBuffer.__getstate__`` pickles that table with every buffer)."""
    from mmengine.logging.history_buffer import HistoryBuffer

    table = HistoryBuffer._statistics_methods
    if poison:
        table["poison"] = np.dtype
    try:
        yield
    finally:
        table.pop("poison", None)


def _audit_cases() -> list:
    from mmengine.config import Config, ConfigDict
    from mmengine.logging.history_buffer import HistoryBuffer

    core = getattr(np, "_core", None) or np.core
    return [
        ("config-kwargs-free", _Reduce(Config), "it calls mmengine Config"),
        ("configdict-not-a-dict", _Reduce(ConfigDict, "abc"), "ConfigDict with something other"),
        ("buffer-call", _Reduce(HistoryBuffer, [1.0], [1], 10), "it calls HistoryBuffer"),
        ("buffer-poisoned", HistoryBuffer([1.0], [1]), "statistics methods that are not HistoryBuffer's own"),
        ("numpy-huge-empty", _Reduce(core.multiarray._reconstruct, np.ndarray, (1 << 40,), b"b"),
         "_reconstruct other than as numpy pickles"),
        ("numpy-scalar-not-bytes", _Reduce(core.multiarray.scalar, np.dtype("f8"), [1.0]),
         "scalar other than as numpy pickles"),
    ]


@pytest.mark.parametrize("case", range(6), ids=["config-no-args", "configdict-str", "buffer-call",
                                                "buffer-poisoned", "numpy-huge", "numpy-scalar"])
def test_each_allow_list_entry_refuses_what_its_pickle_never_does(case, tmp_path):
    from mmengine.logging.history_buffer import HistoryBuffer

    from dwpose.engine.checkpoint import read_checkpoint

    _, obj, message = _audit_cases()[case]
    before = dict(HistoryBuffer._statistics_methods)
    path = tmp_path / "x.pth"
    with _poisoned_table(case == 3):
        torch.save({"meta": {"x": obj}}, path, pickle_module=pickle)
    with pytest.raises(ValueError, match=re.escape(message)):
        read_checkpoint(path)
    assert HistoryBuffer._statistics_methods == before  # nothing class-wide changed


def test_what_mmengine_and_this_project_write_still_loads(tmp_path):
    """A ``Config`` object (its own pickle: NEWOBJ + state), a ``Config`` dump string, nested
    ``ConfigDict`` s, stock ``HistoryBuffer`` s and numpy values come back equal and of their types."""
    from mmengine.config import Config, ConfigDict
    from mmengine.logging.history_buffer import HistoryBuffer

    from dwpose.engine.checkpoint import read_checkpoint

    cfg = Config.fromfile(str(STUDENT_CFG))
    buf = HistoryBuffer([1.0, 3.0], [1, 1], max_length=5)
    ckpt = {"meta": {"cfg": cfg, "cfg_text": cfg.pretty_text, "seed": np.int64(7), "lr": np.float32(0.5),
                     "flip": np.arange(6), "cd": ConfigDict(a=dict(b=[dict(c=1)]))},
            "message_hub": {"log_scalars": {"loss": buf}}, "state_dict": {"w": torch.ones(2)}}
    path = tmp_path / "epoch_1.pth"
    torch.save(ckpt, path)
    meta = read_checkpoint(path)["meta"]
    assert type(meta["cfg"]) is Config and meta["cfg"].to_dict() == cfg.to_dict()
    assert meta["cfg"].filename == cfg.filename and meta["cfg"].text == cfg.text
    assert meta["cfg_text"] == cfg.pretty_text
    assert type(meta["cd"]) is ConfigDict and type(meta["cd"].a.b[0]) is ConfigDict
    assert meta["cd"].a.b[0].c == 1
    assert type(meta["seed"]) is np.int64 and meta["seed"] == 7 and type(meta["lr"]) is np.float32
    np.testing.assert_array_equal(meta["flip"], np.arange(6))
    got = read_checkpoint(path)["message_hub"]["log_scalars"]["loss"]
    assert type(got) is HistoryBuffer and got.mean() == 2.0 and got.max_length == 5
    again = tmp_path / "again.pth"  # what was read saves and reads again as the same classes
    torch.save(read_checkpoint(path), again)
    assert type(read_checkpoint(again)["meta"]["cfg"]) is Config
