"""The variants of the study and the steps (train -> transfer -> evaluate) of every run.

One teacher is trained once, with the config set's ``teacher_seed``, and shared by every variant.
Each variant then runs once per seed; the seed reaches the run as ``randomness.seed=S`` (student
initialisation, align conv, data order and augmentation). Every stage-1 run, the plain student
included, trains for the same number of epochs ``E1``; stage 2 trains ``E2`` epochs.

Work-dir layout (every training run keeps its config dump and logs in its own folder)::

    DIR/teacher/train/final.pth               DIR/teacher/eval/teacher/teacher_wholebody_table.json
    DIR/runs/<variant>/seed<S>/{train,s1,s2}/ DIR/runs/<variant>/seed<S>/eval/<variant>_seed<S>/...json

With a config set that has ``student_pretrain`` / ``teacher_pretrain``, both backbones are first
trained once on the body keypoints (``DIR/pretrain/{student,teacher}/final.pth``, the config's own
seed, shared by every seed and variant) and every whole-body run starts its backbone from them:
pose configs through ``model.backbone.init_cfg`` cfg-options, distillers through a child student
config (``DIR/pretrain/student_init.py``) named as their ``model.student_cfg``.

The full recipe (``dwpose``) continues from the ``s1_full`` run of the same seed, and
``mmpose_dwpose`` from ``mmpose_s1``: a stage 1 is never trained twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from dwpose.errors import UserError
from dwpose.study.config_set import ConfigSet

TEACHER = "teacher"


@dataclass(frozen=True)
class Variant:
    name: str
    label: str  # the row title of study.md
    what: str  # how it is configured, for study.md


VARIANTS: Tuple[Variant, ...] = (
    Variant("plain", "plain student (no distillation)",
            "student config, ground truth only, E1 epochs"),
    Variant("s1_logit", "stage 1: logit only",
            "s1 config with model.feature_alpha=0.0 (no feature loss, no align conv)"),
    Variant("s1_feature", "stage 1: feature only", "s1 config with model.logit_weight=0.0"),
    Variant("s1_full", "stage 1: feature + logit, 1 - e/E decay", "s1 config as it is (the recipe)"),
    Variant("s1_nodecay", "stage 1: feature + logit, no decay",
            "s1 config with model.epoch_decay=False (distillation weight 1 for all epochs)"),
    Variant("dwpose", "stage 1 + stage 2 (DWPose)",
            "s1_full's export -> s2 config (E2 epochs) -> pth_transfer (teacher backbone + new head)"),
    Variant("mmpose_s1", "mmpose DWPoseDistiller: stage 1",
            "mmpose_s1 config (mmpose's DWPoseDistiller, FeaLoss + KDLoss, stock MMEngine Runner) "
            "-> mmpose's pth_transfer"),
    Variant("mmpose_dwpose", "mmpose DWPoseDistiller: stage 1 + stage 2",
            "mmpose_s1's export -> mmpose_s2 config (two_dis=True, the stage-1 schedule inherited) "
            "-> mmpose's pth_transfer --two_dis"),
)
# opt-in (never in the default grid): the recipe with the frozen teacher under bf16 autocast
# (TwoStageDistiller(teacher_precision='bf16')), to check that it leaves accuracy within seed noise
BF16_VARIANTS: Tuple[Variant, ...] = (
    Variant("s1_full_bf16", "stage 1 (recipe), bf16 teacher",
            "s1 config with model.teacher_precision='bf16'"),
    Variant("dwpose_bf16", "stage 1 + stage 2 (DWPose), bf16 teacher",
            "s1_full_bf16's export -> s2 config with model.teacher_precision='bf16' -> pth_transfer"),
)
VARIANTS = VARIANTS + BF16_VARIANTS
VARIANT_NAMES = tuple(v.name for v in VARIANTS)
OPT_IN_VARIANTS = tuple(v.name for v in BF16_VARIANTS)
BF16_TEACHER = ("model.teacher_precision=bf16",)
MMPOSE_VARIANTS = ("mmpose_s1", "mmpose_dwpose")
# cfg-options that turn the s1 config into each stage-1 variant
S1_OPTIONS: Dict[str, Tuple[str, ...]] = {
    "s1_logit": ("model.feature_alpha=0.0",),
    "s1_feature": ("model.logit_weight=0.0",),
    "s1_full": (),
    "s1_nodecay": ("model.epoch_decay=False",),
    "s1_full_bf16": BF16_TEACHER,
}
DEFAULT_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Epochs:
    teacher: int
    s1: int  # every stage-1 run and the plain student
    s2: int
    pretrain: int = 0  # body pre-training of both backbones (0: the config set has none)


@dataclass(frozen=True)
class Train:
    """``tools/train.py config --work-dir work_dir --cfg-options <common> *options`` -> final.pth."""

    config: Path
    work_dir: Path
    options: Tuple[str, ...]

    @property
    def output(self) -> Path:
        return self.work_dir / "final.pth"


@dataclass(frozen=True)
class Transfer:
    """Distiller checkpoint -> plain pose checkpoint, by our converter or mmpose's logic."""

    src: Path
    dst: Path
    impl: str  # "dwpose" (dwpose.distiller.transfer) or "mmpose" (dwpose.study.mmpose_ref)
    two_dis: bool = False

    @property
    def output(self) -> Path:
        return self.dst


@dataclass(frozen=True)
class Evaluate:
    """``tools/test.py config checkpoint`` -> ``root/eval/name/name_wholebody_table.json``."""

    name: str
    config: Path
    checkpoint: Path
    root: Path

    @property
    def output(self) -> Path:
        return self.root / "eval" / self.name / f"{self.name}_wholebody_table.json"


@dataclass(frozen=True)
class ChildConfig:
    """Write ``out``: the config ``base`` with its backbone initialised from ``checkpoint``."""

    base: Path
    checkpoint: Path
    out: Path

    @property
    def output(self) -> Path:
        return self.out


Step = Union[Train, Transfer, Evaluate, ChildConfig]
PRETRAIN = "pretrain"


@dataclass(frozen=True)
class Run:
    """One variant at one seed; finished when the last step's AP table exists."""

    variant: str
    seed: int
    run_dir: Path
    steps: Tuple[Step, ...]

    @property
    def result(self) -> Path:
        return self.steps[-1].output

    @property
    def table_name(self) -> str:
        """The row name inside the result JSON (``rows[table_name]``)."""
        return self.steps[-1].name


def _seeded(seed: int, epochs: int, *extra: str) -> Tuple[str, ...]:
    return (f"randomness.seed={seed}", f"train_cfg.max_epochs={epochs}", *extra)


def pretrain_step(cs: ConfigSet, who: str, work: Path, epochs: Optional[int] = None) -> Train:
    """Body pre-training of the student's or teacher's backbone (its config's own seed)."""
    assert cs.student_pretrain is not None and cs.teacher_pretrain is not None
    config = cs.student_pretrain if who == "student" else cs.teacher_pretrain
    return Train(config, work / PRETRAIN / who, (f"train_cfg.max_epochs={epochs}",) if epochs else ())


def _pretrained(checkpoint: Path) -> Tuple[str, ...]:
    from dwpose.workflow import pretrained_options

    return tuple(pretrained_options(checkpoint))


def student_child(cs: ConfigSet, work: Path) -> ChildConfig:
    """The student config with the pretrained backbone, for the distillers' ``student_cfg``."""
    return ChildConfig(cs.student, work / PRETRAIN / "student" / "final.pth",
                       work / PRETRAIN / "student_init.py")


def teacher_run(cs: ConfigSet, epochs: Epochs, work: Path) -> Run:
    """The shared teacher: trained once with ``cs.teacher_seed``, evaluated for reference."""
    run_dir = work / TEACHER
    steps: List[Step] = []
    init: Tuple[str, ...] = ()
    if cs.has_pretrain:
        steps.append(pretrain_step(cs, "teacher", work, epochs.pretrain))
        init = _pretrained(steps[-1].output)
    train = Train(cs.teacher, run_dir / "train", _seeded(cs.teacher_seed, epochs.teacher, *init))
    return Run(TEACHER, cs.teacher_seed, run_dir,
               (*steps, train, Evaluate(TEACHER, cs.teacher, train.output, run_dir)))


def _student_init(cs: ConfigSet, work: Path, epochs: Epochs,
                  distiller: bool) -> Tuple[List[Step], Tuple[str, ...]]:
    """Steps that make the student's starting point, and the cfg-options that use it."""
    if not cs.has_pretrain:
        return [], ()
    pre = pretrain_step(cs, "student", work, epochs.pretrain)
    if not distiller:
        return [pre], _pretrained(pre.output)
    child = student_child(cs, work)
    return [pre, child], (f"model.student_cfg={child.out}",)


def _stage1(cs: ConfigSet, name: str, seed: int, epochs: Epochs, work: Path, teacher: Path) -> List[Step]:
    run_dir = work / "runs" / name / f"seed{seed}"
    init_steps, init = _student_init(cs, work, epochs, distiller=True)
    train = Train(cs.s1, run_dir / "s1", _seeded(seed, epochs.s1, f"model.teacher_ckpt={teacher}",
                                                  *S1_OPTIONS[name], *init))
    return [*init_steps, train, Transfer(train.output, run_dir / "s1_student.pth", "dwpose")]


def _mmpose_stage1(cs: ConfigSet, seed: int, epochs: Epochs, work: Path, teacher: Path,
                   frozen: Tuple[str, ...]) -> List[Step]:
    run_dir = work / "runs" / "mmpose_s1" / f"seed{seed}"
    init_steps, init = _student_init(cs, work, epochs, distiller=True)
    train = Train(cs.mmpose_s1, run_dir / "s1",
                  _seeded(seed, epochs.s1, f"model.teacher_pretrained={teacher}", *frozen, *init))
    return [*init_steps, train, Transfer(train.output, run_dir / "s1_student.pth", "mmpose", two_dis=False)]


def variant_run(cs: ConfigSet, name: str, seed: int, epochs: Epochs, work: Path,
                mmpose_schedule: Optional[Tuple[Tuple[str, ...], Tuple[str, ...]]] = None) -> Run:
    """All steps of ``name`` at ``seed``, shared stage-1 steps included.

    Args:
        mmpose_schedule: cfg-options freezing the schedule of the mmpose_s1 and mmpose_s2 configs
            at ``E1`` epochs (see :func:`dwpose.study.mmpose_ref.frozen_schedule_options`);
            needed by the mmpose variants.
    """
    teacher = teacher_run(cs, epochs, work).steps[-2].output  # the trained teacher, before its evaluation
    run_dir = work / "runs" / name / f"seed{seed}"
    steps: List[Step]
    if name == "plain":
        init_steps, init = _student_init(cs, work, epochs, distiller=False)
        steps = [*init_steps, Train(cs.student, run_dir / "train", _seeded(seed, epochs.s1, *init))]
    elif name in S1_OPTIONS:
        steps = _stage1(cs, name, seed, epochs, work, teacher)
    elif name in ("dwpose", "dwpose_bf16"):
        bf16 = name == "dwpose_bf16"
        steps = _stage1(cs, "s1_full_bf16" if bf16 else "s1_full", seed, epochs, work, teacher)
        train = Train(cs.s2, run_dir / "s2",
                      _seeded(seed, epochs.s2, f"model.teacher_ckpt={steps[-1].output}",
                              *(BF16_TEACHER if bf16 else ())))
        steps += [train, Transfer(train.output, run_dir / "dwpose_student.pth", "dwpose")]
    elif name in MMPOSE_VARIANTS:
        if not cs.has_mmpose or mmpose_schedule is None:
            raise UserError(f"variant {name} needs mmpose_s1 and mmpose_s2 configs in the config set")
        steps = _mmpose_stage1(cs, seed, epochs, work, teacher, mmpose_schedule[0])
        if name == "mmpose_dwpose":
            train = Train(cs.mmpose_s2, run_dir / "s2",
                          _seeded(seed, epochs.s2, f"model.teacher_pretrained={steps[-1].output}",
                                  *mmpose_schedule[1]))
            steps += [train, Transfer(train.output, run_dir / "dwpose_student.pth", "mmpose", two_dis=True)]
    else:
        raise UserError(f"unknown variant {name!r}; known: {', '.join(VARIANT_NAMES)}")
    evaluate = Evaluate(f"{name}_seed{seed}", cs.student, steps[-1].output, run_dir)
    return Run(name, seed, run_dir, (*steps, evaluate))


def check_variants(names: Sequence[str], cs: ConfigSet) -> Tuple[str, ...]:
    """``names`` in the canonical order, checked; UserError for unknown or impossible ones."""
    unknown = [n for n in names if n not in VARIANT_NAMES]
    if unknown:
        raise UserError(f"unknown variants {unknown}; known: {', '.join(VARIANT_NAMES)}")
    if not cs.has_mmpose and any(n in MMPOSE_VARIANTS for n in names):
        raise UserError(f"variants {list(MMPOSE_VARIANTS)} need mmpose_s1 and mmpose_s2 configs in "
                        f"the config set {cs.name!r}")
    return tuple(n for n in VARIANT_NAMES if n in set(names))


def default_variants(cs: ConfigSet) -> Tuple[str, ...]:
    return tuple(n for n in VARIANT_NAMES
                 if n not in OPT_IN_VARIANTS and (cs.has_mmpose or n not in MMPOSE_VARIANTS))


def build_plan(cs: ConfigSet, variants: Sequence[str], seeds: Sequence[int], epochs: Epochs, work: Path,
               mmpose_schedule: Optional[Callable[[], Tuple[Tuple[str, ...], Tuple[str, ...]]]] = None
               ) -> List[Run]:
    """The teacher run (unless only ``plain`` is planned), then every variant for seed 0, for seed 1, ...

    Seed-major order, so an interrupted study has complete comparisons for its first seeds.
    ``mmpose_schedule`` is called once, only when an mmpose variant is planned.
    """
    variants = check_variants(variants, cs)
    frozen = mmpose_schedule() if mmpose_schedule and any(v in MMPOSE_VARIANTS for v in variants) else None
    # the plain student learns from the ground truth alone: a study of it alone trains no teacher
    runs = [teacher_run(cs, epochs, work)] if any(v != "plain" for v in variants) else []
    runs += [variant_run(cs, v, s, epochs, work, frozen) for s in seeds for v in variants]
    return runs


def parse_seeds(count: Optional[int], listed: Optional[str]) -> Tuple[int, ...]:
    """``--seeds N`` -> 0..N-1; ``--seed-list 0,1,2`` -> those; neither -> :data:`DEFAULT_SEEDS`."""
    if count is not None and listed is not None:
        raise UserError("give --seeds N or --seed-list A,B,..., not both")
    if listed is not None:
        try:
            seeds = tuple(int(s) for s in listed.split(",") if s.strip())
        except ValueError:
            raise UserError(f"--seed-list takes comma-separated integers, got {listed!r}") from None
    elif count is not None:
        seeds = tuple(range(count))
    else:
        seeds = DEFAULT_SEEDS
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise UserError(f"seeds must be distinct non-negative integers, got {list(seeds)}")
    return seeds


def parse_epochs(spec: Optional[str], defaults: Epochs) -> Epochs:
    """``--epochs N`` (every stage) or ``--epochs teacher=40,s1=25,s2=15,pretrain=25`` (any subset) over
    ``defaults``."""
    if not spec:
        return defaults
    values = dict(teacher=defaults.teacher, s1=defaults.s1, s2=defaults.s2, pretrain=defaults.pretrain)
    try:
        if "=" not in spec:
            values = {k: (int(spec) if k != "pretrain" or v else 0) for k, v in values.items()}
        else:
            for item in spec.split(","):
                key, _, value = item.partition("=")
                if key.strip() not in values:
                    raise UserError(f"unknown stage {key.strip()!r}")
                values[key.strip()] = int(value)
    except ValueError as exc:
        raise UserError(f"--epochs takes N or teacher=N,s1=N,s2=N ({exc})") from None
    if min(v for k, v in values.items() if k != "pretrain" or defaults.pretrain) < 1:
        raise UserError(f"epochs must be >= 1, got {values}")
    return Epochs(**values)
