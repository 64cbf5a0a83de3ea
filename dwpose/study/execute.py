"""Run the plan with the demo's own step helpers; finished steps and runs are skipped.

Training, conversion and scoring are the public steps of :mod:`dwpose.workflow` that ``dwpose demo``
uses too: ``python -m dwpose.engine.train`` / ``python -m dwpose.engine.test`` subprocesses (what
``tools/train.py`` / ``tools/test.py`` run, the names run.json's step lines use), started in the current
directory, whose full output stays in the step's folder
(``train_output.log``, ``test_output.log``, plus MMEngine's own log and config dump). A training step
is done when its ``final.pth`` exists, a conversion when its output exists, a run when its AP table
exists; an interrupted study resumes at the first missing step (our runs resume from their last
checkpoint; a stock-runner mmpose run restarts, as its checkpoints are not weights-only readable).
Each run also leaves ``run.json`` (variant, seed, every step with its cfg-options, wall time).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from dwpose.study.aggregate import read_ap
from dwpose.study.plan import ChildConfig, Evaluate, Run, Step, Train, Transfer


@dataclass(frozen=True)
class Context:
    """What every step shares: the data root (None: the configs' own), options, verbosity."""

    work: Path
    data: Optional[Path]
    options: Tuple[str, ...] = ()  # the config set's cfg_options, for every train and test call
    quiet: bool = True


def _rel(path: Path, work: Path) -> str:
    """``path`` relative to the work dir, else to the folder above the package's configs (a checkout's
    root, so its configs read ``configs/...`` whichever way the package is installed), else as it is."""
    from dwpose.package_data import config_root

    for base in (work, config_root().parent):
        try:
            return str(Path(path).relative_to(base))
        except ValueError:
            continue
    return str(path)


def describe(step: Step, work: Path) -> str:
    """One line saying what the step runs: paths relative to the work dir, which options call DIR."""
    r = lambda p: _rel(p, work)  # noqa: E731
    if isinstance(step, Train):
        options = " ".join(o.replace(f"={work}/", "=DIR/") for o in step.options)
        return (f"`tools/train.py {r(step.config)} --work-dir {r(step.work_dir)} --cfg-options {options}` "
                f"-> {r(step.output)}")
    if isinstance(step, Transfer):
        tool = ("pth_transfer.py" if step.impl == "dwpose"
                else "mmpose's pth_transfer logic (weights_only=False)")
        return f"{tool} {r(step.src)} -> {r(step.dst)}" + (" --two_dis" if step.two_dis else "")
    if isinstance(step, ChildConfig):
        return (f"child config of {r(step.base)} with backbone init_cfg Pretrained {r(step.checkpoint)} "
                f"-> {r(step.out)}")
    return f"`tools/test.py {r(step.config)} {r(step.checkpoint)}` -> {r(step.output)}"


def run_step(step: Step, ctx: Context) -> None:
    """Do one step unless its output exists (the workflow steps skip finished steps themselves)."""
    from dwpose import workflow

    opts = workflow.RunOptions(data=ctx.data, quiet=ctx.quiet, options=ctx.options)
    if isinstance(step, Train):
        workflow.train(workflow.Training(step.config, step.work_dir, step.options), opts)
    elif isinstance(step, ChildConfig):
        workflow.write_pretrained_child(step.base, step.checkpoint, step.out)
    elif isinstance(step, Transfer) and step.impl == "dwpose":
        workflow.transfer(step.src, step.dst)
    elif isinstance(step, Transfer):
        if not step.dst.is_file():
            from dwpose.study.mmpose_ref import mmpose_transfer

            mmpose_transfer(step.src, step.dst, step.two_dis)
    elif isinstance(step, Evaluate):
        workflow.evaluate(step.name, step.config, step.checkpoint, step.root, opts)
    else:  # pragma: no cover - the plan only makes the three kinds
        raise AssertionError(f"unknown step {step!r}")


def _write_run_json(run: Run, ctx: Context, **fields) -> None:
    from dwpose.fileio import atomic_write_text

    payload = {"variant": run.variant, "seed": run.seed, **fields,
               "data_root": str(ctx.data) if ctx.data else None, "config_set_options": list(ctx.options),
               "steps": [describe(s, ctx.work) for s in run.steps],
               "result": _rel(run.result, ctx.work)}
    run.run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run.run_dir / "run.json", json.dumps(payload, indent=2) + "\n")


def _print(line: str) -> None:
    print(line, flush=True)


def execute(runs: Sequence[Run], ctx: Context,
            echo: Callable[[str], None] = _print) -> Dict[Tuple[str, int], str]:
    """Run every unfinished run in order; one line when a run starts and one when it ends.

    Returns:
        ``{(variant, seed): "skipped" | "ran"}``.
    """
    status: Dict[Tuple[str, int], str] = {}
    width = len(str(len(runs)))
    for i, run in enumerate(runs, 1):
        tag = f"[{i:>{width}}/{len(runs)}] {run.variant} seed {run.seed}"
        if run.result.is_file():
            status[(run.variant, run.seed)] = "skipped"
            echo(f"{tag}: skipped, finished earlier ({_rel(run.result, ctx.work)})")
            continue
        echo(f"{tag}: running ({len(run.steps)} steps, log in {_rel(run.run_dir, ctx.work)})")
        start = time.time()
        _write_run_json(run, ctx, status="running")
        for step in run.steps:
            run_step(step, ctx)
        wall = time.time() - start
        _write_run_json(run, ctx, status="finished", wall_s=round(wall, 1))
        whole = read_ap(run.result, run.table_name)["wholebody"]
        status[(run.variant, run.seed)] = "ran"
        echo(f"{tag}: done in {wall:.0f} s, Whole AP {'n/a' if whole is None else f'{whole:.3f}'}")
    return status


def own_training(run: Run) -> Optional[Train]:
    """The run's first whole-body training (not a shared pre-training): its break-out is the run's."""
    from dwpose.study.plan import PRETRAIN

    return next((s for s in run.steps if isinstance(s, Train) and s.work_dir.parent.name != PRETRAIN), None)


def _breakout(run: Run) -> Optional[int]:
    from dwpose.study.aggregate import breakout_epoch, run_logs

    train = own_training(run)
    logs = run_logs(train.work_dir) if train else []
    return breakout_epoch(logs) if logs else None


def collect(runs: List[Run], work: Path) -> List[dict]:
    """``[{variant, seed, ap, breakout_epoch, result, steps}]`` of every run, read from its AP table
    and training log."""
    return [{"variant": r.variant, "seed": r.seed, "ap": read_ap(r.result, r.table_name),
             "breakout_epoch": _breakout(r), "result": _rel(r.result, work),
             "steps": [describe(s, work) for s in r.steps]} for r in runs]
