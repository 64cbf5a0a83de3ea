"""``tools/analysis/distill_study.py CONFIG_SET --work-dir DIR [--seeds N | --seed-list A,B] [--epochs ...]
[--variants ...]``: run the study and write ``DIR/study.md``, ``DIR/study.json``, ``DIR/study.png``.

    python tools/analysis/distill_study.py demo --work-dir work_dirs/study            # seeds 0, 1, 2
    python tools/analysis/distill_study.py demo --epochs teacher=40,s1=25,s2=15 --seeds 3 --work-dir ...
    python tools/analysis/distill_study.py my_set.yaml --variants plain s1_full dwpose --work-dir ...

Rerunning the same command resumes: finished runs are skipped, so ``--seeds 5`` after ``--seeds 3``
only trains the two new seeds. A work dir remembers its config set, data and epochs
(``study_settings.json``) and refuses a run with different ones, so runs of different settings never
mix in one table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from dwpose.errors import UserError
from dwpose.study.aggregate import summarize
from dwpose.study.config_set import ConfigSet, load_config_set
from dwpose.study.execute import Context, collect, execute
from dwpose.study.plan import (
    TEACHER,
    VARIANT_NAMES,
    VARIANTS,
    Epochs,
    build_plan,
    check_variants,
    default_variants,
    parse_epochs,
    parse_seeds,
)
from dwpose.workflow import data_options

SETTINGS_FILE = "study_settings.json"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config_set", metavar="CONFIG_SET",
                   help="'demo' (the make-demo configs on generated data) or a .yaml/.json/.py config set")
    p.add_argument("--work-dir", required=True, help="where every run, log and the study files go")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, metavar="N", help="seeds 0..N-1 (default: 0, 1, 2)")
    seeds.add_argument("--seed-list", metavar="A,B,...", help="explicit seeds, e.g. 0,1,2")
    p.add_argument("--epochs", metavar="N|teacher=N,s1=N,s2=N",
                   help="override epochs of every stage, or of some (default: the configs' own)")
    p.add_argument("--variants", nargs="+", metavar="NAME", choices=VARIANT_NAMES,
                   help=f"subset of {', '.join(VARIANT_NAMES)} (default: all the config set allows)")
    p.add_argument("--dry-run", action="store_true", help="print every run's steps and exit")
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: write study.md/.json/.png from the runs finished so far, listing "
                        "the planned runs that are missing (for a study still under way)")
    p.add_argument("--verbose", action="store_true", help="echo the training progress lines")


def config_epochs(cs: ConfigSet) -> Epochs:
    """``train_cfg.max_epochs`` of the teacher, stage-1 and stage-2 configs."""
    from dwpose.engine.config import read_config

    read = lambda path: int(read_config(path).train_cfg.max_epochs)  # noqa: E731
    pretrain = read(cs.student_pretrain) if cs.student_pretrain else 0
    if cs.teacher_pretrain and read(cs.teacher_pretrain) != pretrain:
        raise UserError(f"the student's and teacher's pre-training configs train different epochs "
                        f"({cs.student_pretrain}, {cs.teacher_pretrain}); give them one")
    return Epochs(teacher=read(cs.teacher), s1=read(cs.s1), s2=read(cs.s2), pretrain=pretrain)


def prepare_data(cs: ConfigSet, work: Path) -> tuple:
    """``(data root or None, description)``; generates the demo data when the set asks for it."""
    if cs.demo_data is not None:
        from dwpose.datasets.synthetic import generate_demo_dataset

        info = generate_demo_dataset(work / "data", **cs.demo_data)
        return Path(info["root"]), (f"generated demo data set, {info['num_train']} train / {info['num_val']} "
                                    f"val pictures, data seed {info['seed']} (`dwpose demo-data`)")
    if cs.data_root:
        return Path(cs.data_root), f"data_root {cs.data_root}"
    return None, "the configs' own data_root"


def check_settings(work: Path, settings: Dict[str, Any]) -> None:
    """Record the settings of a new study; refuse a work dir that holds one with other settings."""
    from dwpose.fileio import atomic_write_text, read_json

    path = work / SETTINGS_FILE
    if path.is_file():
        before = read_json(path, "study settings file")
        if before != settings:
            diff = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
            raise UserError(f"{work} holds a study with other settings ({', '.join(diff)} differ, see "
                            f"{path}); use another --work-dir, or the same settings to resume")
        return
    work.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(settings, indent=2) + "\n")


def kernel_setting() -> Dict[str, Any]:
    """``{"kernels": {...}}`` when the training runs would not use the pinned kernels, else ``{}``.

    A work dir remembers it with the other settings, so runs with native and pinned kernels never
    mix in one table (a work dir of pinned runs records nothing, as before the key existed).
    """
    from dwpose.engine.numerics import PINNED_KERNELS, pinned_env

    env = pinned_env()
    kernels = {name: env[name] for name in PINNED_KERNELS}
    return {} if kernels == PINNED_KERNELS else {"kernels": kernels}


def build_study(name: str, command: str, settings: Dict[str, Any], rows: List[dict],
                variants: Sequence[str]) -> Dict[str, Any]:
    """The ``study.json`` dict from the per-run rows of :func:`dwpose.study.execute.collect`."""
    from dwpose.study.report import machine_description

    teacher = next((r for r in rows if r["variant"] == TEACHER), None)
    out_variants = []
    for v in (v for v in VARIANTS if v.name in variants):
        runs = sorted((r for r in rows if r["variant"] == v.name), key=lambda r: r["seed"])
        summary = summarize({r["seed"]: r["ap"] for r in runs})
        out_variants.append({"name": v.name, "label": v.label, "what": v.what, **summary,
                             "runs": [{k: r.get(k) for k in RUN_KEYS} for r in runs]})
    return {"study": name, "command": command, "machine": machine_description(),
            "finished": datetime.datetime.now().isoformat(timespec="seconds"), "settings": settings,
            "teacher": {k: teacher.get(k) for k in RUN_KEYS} if teacher else None,
            "variants": out_variants, "paired": paired_comparisons(out_variants)}


RUN_KEYS = ("seed", "ap", "breakout_epoch", "result", "steps")
# (variant, baseline) pairs whose paired seed-by-seed difference study.md reports
PAIRS = (("s1_logit", "plain"), ("s1_feature", "plain"), ("s1_full", "plain"), ("s1_nodecay", "plain"),
         ("dwpose", "plain"), ("dwpose", "s1_full"), ("mmpose_s1", "plain"), ("mmpose_dwpose", "plain"),
         ("s1_full", "mmpose_s1"), ("dwpose", "mmpose_dwpose"))


def paired_comparisons(variants: List[dict]) -> List[dict]:
    """Paired (same seed) differences with 95 % t intervals for :data:`PAIRS` both sides of which ran."""
    from dwpose.study.aggregate import paired_difference

    by_name = {v["name"]: {r["seed"]: r["ap"] for r in v["runs"]} for v in variants}
    return [{"variant": a, "baseline": b, **paired_difference(by_name[a], by_name[b])}
            for a, b in PAIRS if a in by_name and b in by_name and set(by_name[a]) & set(by_name[b])]


def write_outputs(study: Dict[str, Any], work: Path) -> None:
    from dwpose.fileio import atomic_path, atomic_write_text
    from dwpose.study.report import format_markdown, plot

    atomic_write_text(work / "study.json", json.dumps(study, indent=2) + "\n")
    atomic_write_text(work / "study.md", format_markdown(study))
    with atomic_path(work / "study.png", suffix=".png") as tmp:
        plot(study, tmp)


def run(args: argparse.Namespace, command: Optional[str] = None) -> int:
    from dwpose.study.mmpose_ref import check_reference_weights, frozen_schedule_options
    from dwpose.study.plan import MMPOSE_VARIANTS

    start = time.time()
    cs = load_config_set(args.config_set)
    seeds = parse_seeds(args.seeds, args.seed_list)
    variants = check_variants(args.variants, cs) if args.variants else default_variants(cs)
    epochs = parse_epochs(args.epochs, config_epochs(cs))
    work = Path(args.work_dir).expanduser().resolve()
    if any(v in MMPOSE_VARIANTS for v in variants):
        check_reference_weights((cs.s1, cs.s2), (cs.mmpose_s1, cs.mmpose_s2))
    frozen = lambda: (frozen_schedule_options(cs.mmpose_s1, epochs.s1),  # noqa: E731
                      frozen_schedule_options(cs.mmpose_s2, epochs.s1))
    plan = build_plan(cs, variants, seeds, epochs, work, frozen)
    if args.dry_run:
        from dwpose.study.execute import describe

        for r in plan:
            print(f"{r.variant} seed {r.seed}:\n" + "\n".join(f"  {describe(s, work)}" for s in r.steps))
        return 0
    # everything but seeds and variants must match an earlier invocation in this work dir
    check_settings(work, {"config_set": {k: v for k, v in cs.to_json().items() if k != "source"},
                          "epochs": vars(epochs), **kernel_setting()})
    data, data_desc = prepare_data(cs, work)
    common = (*data_options(data), *cs.cfg_options)  # what every train run gets first
    print(f"study {cs.name!r}: {len(variants)} variants x seeds {list(seeds)} + the shared teacher "
          f"(epochs: teacher {epochs.teacher}, stage 1 {epochs.s1}, stage 2 {epochs.s2}) -> {work}")
    missing = [r for r in plan if not r.result.is_file()]
    if args.report_only:
        if any(r.variant == TEACHER for r in missing):
            raise UserError(f"{work}: the shared teacher has not finished; nothing to report yet")
        status = {(r.variant, r.seed): "skipped" for r in plan if r not in missing}
        plan = [r for r in plan if r not in missing]
    else:
        status = execute(plan, Context(work=work, data=data, options=cs.cfg_options, quiet=not args.verbose))
        missing = []
    settings = {"config_set": cs.to_json(), "data": data_desc, "epochs": vars(epochs), "seeds": list(seeds),
                "teacher_seed": cs.teacher_seed, "variants": list(variants),
                "common_options": [o.replace(f"={work}/", "=DIR/") for o in common], **kernel_setting()}
    # the command that trains (and so reproduces) the runs, also when only the report was rewritten
    command = (command or _command()).replace(" --report-only", "")
    study = build_study(cs.name, command, settings, collect(plan, work), variants)
    study["missing"] = [{"variant": r.variant, "seed": r.seed} for r in missing]
    write_outputs(study, work)
    from dwpose.study.report import format_table

    ran = sum(1 for s in status.values() if s == "ran")
    print("\n" + format_table(study))
    print(f"\n{ran} runs trained, {len(status) - ran} skipped, {time.time() - start:.0f} s; "
          f"wrote {work / 'study.md'}, study.json, study.png")
    return 0


def _command() -> str:
    """The command line as the user typed it: the tool, or the ``dwpose study`` sub-command."""
    if sys.argv[0].endswith("distill_study.py"):
        return "python tools/analysis/distill_study.py " + shlex.join(sys.argv[1:])
    return "dwpose " + shlex.join(sys.argv[1:])


def main(argv: Optional[Sequence[str]] = None) -> int:
    from dwpose.errors import guarded

    parser = argparse.ArgumentParser(
        prog="tools/analysis/distill_study.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Distillation study: every variant x seed on one config set; writes study.md/.json/.png.",
        epilog=__doc__.split("\n\n", 1)[1])
    add_arguments(parser)
    args = parser.parse_args(argv)
    command = None if argv is None else "python tools/analysis/distill_study.py " + shlex.join(argv)
    return guarded(lambda: run(args, command), prog=parser.prog)
