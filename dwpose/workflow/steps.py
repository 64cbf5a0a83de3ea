"""Public, resumable steps of the recipe; each runs a project tool in a subprocess with pinned kernels.

Every step skips itself when its result exists (a killed demo or study resumes where it stopped):

- :func:`train` / :func:`train_all`: ``python -m dwpose.engine.train CONFIG --work-dir W --resume``
  -> ``W/final.pth`` (a hard link to the last checkpoint);
- :func:`transfer`: a distiller checkpoint -> a plain pose checkpoint, in this process
  (:func:`dwpose.distiller.transfer.transfer_checkpoint`, what ``pth_transfer.py`` runs);
- :func:`evaluate`: ``python -m dwpose.engine.test`` -> ``ROOT/eval/NAME/NAME_wholebody_table.json``;
- :func:`save_untrained`: the seeded model at initialisation (the "before learning" row);
- :func:`pretrained_options`: the cfg-options that start a whole-body run from a body-pretrained
  backbone (``init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=...)``).

The tools are modules of the package (``python -m ...``), so the steps need no checkout; the shipped
configs are found with :func:`dwpose.package_data.config_path`.

Example::

    from dwpose.package_data import config_path

    opts = RunOptions(data=Path("work_dirs/demo/data"))
    student = config_path("demo/rtmpose-student_demo.py")
    body = train(Training(config_path("demo/rtmpose-student_body-pretrain_demo.py"), Path("w/pre")), opts)
    ckpt = train(Training(student, Path("w/student"), pretrained_options(body)), opts)
    row = evaluate("student", student, ckpt, Path("w"), opts)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from dwpose.engine.numerics import pinned_env

# end-of-epoch lines, our resume notes and real error lines (not torch's build flags such as -Werror=...)
SHOW = re.compile(r"Epoch\(train\)\s+\[\d+\]\[\s*(\d+)/\1\]|(?:^|\s)(?:\w*Error|error):|resume:")
COMPACT = re.compile(r"(Epoch\(train\)\s+\[\d+\]\[\s*\d+/\d+\]).*?(eta: \S+).*?(loss: [0-9.]+)")


@dataclass(frozen=True)
class RunOptions:
    """What every step of one demo or study shares.

    Attributes:
        data: data root handed to every config (None: the configs' own ``data_root``).
        epochs: override of ``train_cfg.max_epochs`` for every training (None: the configs' own).
        quiet: hide the training progress lines (they always go to the step's log).
        options: cfg-options given to every train and test call (a config set's ``cfg_options``).
        cwd: working directory of the tools (None: the current one); relative paths in configs, such
            as a default ``data_root``, resolve against it.
    """

    data: Optional[Path] = None
    epochs: Optional[int] = None
    quiet: bool = True
    options: Tuple[str, ...] = ()
    cwd: Optional[Path] = None


@dataclass(frozen=True)
class Training:
    """One training run: ``config`` into ``work_dir`` with extra cfg-options ``extra``."""

    config: Path
    work_dir: Path
    extra: Tuple[str, ...] = ()

    @property
    def output(self) -> Path:
        return self.work_dir / "final.pth"


class _Job:
    def __init__(self, proc: subprocess.Popen, log, log_path: Path) -> None:
        self.proc, self.log, self.log_path = proc, log, log_path
        self.reader: Optional[threading.Thread] = None

    def wait(self) -> None:
        code = self.proc.wait()
        assert self.reader is not None
        self.reader.join()
        self.log.close()
        if code != 0:
            raise RuntimeError(f"step failed (exit {code}); full log: {self.log_path}")


def _start(cmd: List[str], log_path: Path, quiet: bool, tag: str = "", cwd: Optional[Path] = None) -> _Job:
    """Start a tool in the background, keeping its full output in ``log_path``."""
    # pinned kernels: the same arithmetic on every x86-64 machine (dwpose/engine/numerics.py);
    # PASSIVE: idle OpenMP threads sleep instead of spinning against the data-loader worker (2 cores)
    env = {**pinned_env(OMP_WAIT_POLICY="PASSIVE"), "PYTHONUNBUFFERED": "1"}
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                            env=env)
    job = _Job(proc, log, log_path)

    def pump() -> None:  # echo the progress lines while keeping every line in the log
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if not quiet and SHOW.search(line):
                m = COMPACT.search(line)
                print(f"    {tag}" + (" ".join(m.groups()) if m else line.rstrip()[-150:]), flush=True)

    job.reader = threading.Thread(target=pump, daemon=True)
    job.reader.start()
    return job


def run_tool(cmd: List[str], log_path: Path, quiet: bool = True, cwd: Optional[Path] = None) -> None:
    """Run a tool to its end, its full output in ``log_path``; RuntimeError naming the log if it fails."""
    _start(cmd, log_path, quiet, cwd=cwd).wait()


def data_options(data: Optional[Path], epochs: Optional[int] = None) -> List[str]:
    """cfg-options every training gets: the data root, no validation inside training, the epochs."""
    # no validation inside training: every model is scored once, by dwpose.engine.test
    opts = ([f"data_root={data}/"] if data else []) + ["train_cfg.val_interval=100000"]
    if epochs:
        opts.append(f"train_cfg.max_epochs={epochs}")
    return opts


def pretrained_options(checkpoint: Path, distiller: bool = False,
                       student_config: Optional[Path] = None) -> Tuple[str, ...]:
    """cfg-options that start the student's backbone from ``checkpoint`` (its ``backbone.*`` weights).

    A pose config gets ``model.backbone.init_cfg`` directly. A distiller builds its student from
    another config file, which cfg-options cannot reach: give ``student_config``, a child config
    written by :func:`write_pretrained_child`, and it becomes the distiller's ``model.student_cfg``.
    """
    if distiller:
        if student_config is None:
            raise ValueError("a distiller needs student_config (see write_pretrained_child)")
        return (f"model.student_cfg={student_config}",)
    # _delete_: the configs' own init_cfg (None: random initialisation) is replaced, not merged
    return ("model.backbone.init_cfg._delete_=True", "model.backbone.init_cfg.type=Pretrained",
            "model.backbone.init_cfg.prefix=backbone.",
            f"model.backbone.init_cfg.checkpoint={checkpoint}")


def write_pretrained_child(base: Path, checkpoint: Path, out: Path) -> Path:
    """A config that is ``base`` with its backbone initialised from ``checkpoint``; returns ``out``.

    Written (atomically, once) so that a distiller's ``student_cfg`` names a file a reader can open
    and see exactly what the student starts from.
    """
    from dwpose.fileio import atomic_write_text

    text = (f"# {base.name} with its backbone initialised from a body-pretrained checkpoint\n"
            f"_base_ = [{str(base.resolve())!r}]\n"
            f"model = dict(backbone=dict(init_cfg=dict(\n"
            f"    _delete_=True, type='Pretrained', prefix='backbone.',\n"
            f"    checkpoint={str(checkpoint.resolve())!r})))\n")
    if not out.is_file() or out.read_text() != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, text)
    return out


def train(run: Training, opts: RunOptions, tag: str = "") -> Path:
    """Train one run (resuming if interrupted); returns its ``final.pth``.

    ``tag`` prefixes its echoed progress lines (e.g. ``"[teacher] "`` when another lane trains
    beside it in a thread of the same program).
    """
    return train_all([run], opts, tags=[tag])[0]


def train_all(runs: Sequence[Training], opts: RunOptions,
              tags: Optional[Sequence[str]] = None) -> List[Path]:
    """Train independent runs side by side; returns their ``final.pth`` files in order.

    Each run keeps its own pinned thread count, so running two at once changes no number, only the
    wall time: one training process keeps about 1.3 of 2 cores busy, the second fills the gaps.
    ``tags`` prefix each run's echoed progress lines (default: ``[<work dir name>] `` when there
    are several runs).
    """
    jobs = []
    for i, run in enumerate(runs):
        if run.output.is_file():
            print(f"  [skip] {run.work_dir.name}: already trained ({run.output})")
            continue
        run.work_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "dwpose.engine.train", str(run.config), "--work-dir", str(run.work_dir),
               "--resume", "--cfg-options", *data_options(opts.data, opts.epochs), *opts.options, *run.extra]
        tag = tags[i] if tags is not None else (f"[{run.work_dir.name}] " if len(runs) > 1 else "")
        jobs.append((run, _start(cmd, run.work_dir / "train_output.log", opts.quiet, tag, opts.cwd)))
    failure = None
    for run, job in jobs:  # wait for all, even when one fails, so that none is left running
        try:
            job.wait()
        except RuntimeError as exc:
            failure = failure or exc
            continue
        os.link((run.work_dir / "last_checkpoint").read_text().strip(), run.output)
    if failure:
        raise failure
    return [run.output for run in runs]


def evaluate(name: str, config: Path, ckpt: Path, root: Path, opts: RunOptions,
             extra: Tuple[str, ...] = ()) -> Dict:
    """Score ``ckpt`` on the config's test split; returns its row of the AP/AR table."""
    out = root / "eval" / name
    result = out / f"{name}_wholebody_table.json"  # written by dwpose.engine.test (print_and_save)
    if not result.is_file():
        out.mkdir(parents=True, exist_ok=True)
        options = ([f"data_root={opts.data}/"] if opts.data else []) + list(opts.options) + list(extra)
        cmd = [sys.executable, "-m", "dwpose.engine.test", str(config), str(ckpt), "--work-dir",
               str(out), *(["--cfg-options", *options] if options else [])]
        run_tool(cmd, out / "test_output.log", quiet=True, cwd=opts.cwd)
    return json.loads(result.read_text())["rows"][name]


def transfer(dis_ckpt: Path, out: Path) -> Path:
    """Distiller checkpoint -> plain pose checkpoint (``pth_transfer.py``), unless ``out`` exists."""
    if not out.is_file():
        from dwpose.distiller.transfer import transfer_checkpoint

        stage = transfer_checkpoint(str(dis_ckpt), str(out))
        print(f"      pth_transfer: {dis_ckpt.name} ({stage}) -> {out.name}")
    return out


def save_untrained(config: Path, path: Path, extra: Sequence[str] = ()) -> Path:
    """Checkpoint of the model of ``config`` at initialisation (seeded by the config's seed)."""
    if path.is_file():
        return path
    import torch
    from mmengine.logging import MMLogger
    from mmengine.model.utils import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    import dwpose.plugin  # noqa: F401
    from dwpose.engine.checkpoint import atomic_save
    from dwpose.engine.config import load_config
    from dwpose.engine.preflight import DictAction

    options = argparse.Namespace(cfg_options=None)
    if extra:  # "key=value" strings, parsed as `--cfg-options` parses them
        DictAction(option_strings=[], dest="cfg_options")(None, options, list(extra))
    cfg = load_config(str(config), options.cfg_options)
    MMLogger.get_instance("dwpose-demo", log_level="WARNING")  # no per-parameter init report
    init_default_scope("mmpose")
    torch.manual_seed(cfg.randomness.seed)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    atomic_save({"meta": {"note": "untrained"}, "state_dict": model.state_dict()}, path)
    return path
