"""Config sets, seeds / epochs parsing and the steps (with their exact cfg-options) of every variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwpose.study.config_set import config_set_from_dict, load_config_set
from dwpose.study.plan import (
    VARIANT_NAMES,
    Epochs,
    Evaluate,
    Train,
    Transfer,
    build_plan,
    default_variants,
    parse_epochs,
    parse_seeds,
    variant_run,
)

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo"  # the checkout's own files (an editable install reads them)
EPOCHS = Epochs(teacher=40, s1=25, s2=15)
FROZEN = (("param_scheduler.1.begin=12",), ("param_scheduler.1.begin=12", "custom_hooks.1.switch_epoch=22"))


@pytest.fixture(scope="module")
def demo_set():
    """The from-scratch set: the step lists below have no pre-training in them."""
    return load_config_set("demo_scratch")


@pytest.fixture(scope="module")
def pretrained_set():
    return load_config_set("demo")


def test_pretrained_set_starts_every_whole_body_run_from_the_body_backbones(pretrained_set, tmp_path):
    assert pretrained_set.has_pretrain
    assert pretrained_set.student_pretrain == DEMO / "rtmpose-student_body-pretrain_demo.py"
    epochs = Epochs(teacher=40, s1=25, s2=15, pretrain=25)
    plan = build_plan(pretrained_set, ["plain", "s1_full", "dwpose", "mmpose_s1", "mmpose_dwpose"], [200],
                      epochs, tmp_path, lambda: FROZEN)
    runs = {r.variant: r for r in plan}
    student_body = tmp_path / "pretrain" / "student" / "final.pth"
    teacher_body = tmp_path / "pretrain" / "teacher" / "final.pth"
    key = "model.backbone.init_cfg"
    init = lambda ckpt: [f"{key}._delete_=True", f"{key}.type=Pretrained",  # noqa: E731
                         f"{key}.prefix=backbone.", f"{key}.checkpoint={ckpt}"]
    pre_t, teacher, _ = runs["teacher"].steps
    assert pre_t.config == pretrained_set.teacher_pretrain and pre_t.output == teacher_body
    assert _options(pre_t) == ["train_cfg.max_epochs=25"]
    assert _options(teacher) == ["randomness.seed=21", "train_cfg.max_epochs=40", *init(teacher_body)]
    pre_s, plain, _ = runs["plain"].steps
    assert pre_s.config == pretrained_set.student_pretrain and pre_s.output == student_body
    assert _options(plain) == ["randomness.seed=200", "train_cfg.max_epochs=25", *init(student_body)]
    # the distillers build their student from a child config naming the same backbone checkpoint
    _, child, s1, _, _ = runs["s1_full"].steps
    assert (child.base, child.checkpoint) == (pretrained_set.student, student_body)
    assert _options(s1)[-1] == f"model.student_cfg={child.out}"
    mm_child, mm_s1 = runs["mmpose_s1"].steps[1:3]
    assert mm_child == child and _options(mm_s1)[-1] == f"model.student_cfg={child.out}"
    # stage 2 starts from the stage-1 export, not from the body backbone
    s2 = runs["dwpose"].steps[4]
    assert not any("student_cfg" in o or "init_cfg" in o for o in _options(s2))


def test_pretrained_child_config_loads_the_backbone(pretrained_set, tmp_path):
    from dwpose.engine.config import read_config
    from dwpose.workflow import write_pretrained_child

    child = write_pretrained_child(pretrained_set.student, tmp_path / "body.pth",
                                   tmp_path / "student_init.py")
    cfg = read_config(child)
    assert cfg.model.backbone.init_cfg == {"type": "Pretrained", "prefix": "backbone.",
                                           "checkpoint": str(tmp_path / "body.pth")}
    assert cfg.model.head == read_config(pretrained_set.student).model.head


def test_demo_config_set(demo_set):
    assert demo_set.name == "demo_scratch" and demo_set.teacher_seed == 21 and demo_set.has_mmpose
    assert demo_set.s1 == DEMO / "dwpose_s1_demo.py"
    assert demo_set.mmpose_s2 == DEMO / "study" / "mmpose_dwpose_s2_demo.py"
    assert demo_set.demo_data == {"num_train": 320, "num_val": 64, "seed": 0}
    # everything but the opt-in bf16-teacher variants
    assert default_variants(demo_set) == tuple(n for n in VARIANT_NAMES if not n.endswith("_bf16"))


def test_config_set_file_paths_are_relative_to_the_file(tmp_path):
    (tmp_path / "set.yaml").write_text(
        f"teacher: {DEMO}/rtmpose-teacher_demo.py\nstudent: {DEMO}/rtmpose-student_demo.py\n"
        f"s1: {DEMO}/dwpose_s1_demo.py\ns2: {DEMO}/dwpose_s2_demo.py\ndata_root: /data/coco/\n"
        "cfg_options: [train_dataloader.num_workers=0]\n")
    cs = load_config_set(str(tmp_path / "set.yaml"))
    assert cs.name == "set" and not cs.has_mmpose and cs.data_root == "/data/coco/"
    assert cs.cfg_options == ("train_dataloader.num_workers=0",)
    assert "mmpose_s1" not in default_variants(cs)
    with pytest.raises(ValueError, match="need mmpose_s1 and mmpose_s2"):
        build_plan(cs, ["mmpose_s1"], [0], EPOCHS, tmp_path)
    (tmp_path / "t.py").write_text("")
    (tmp_path / "set.py").write_text("teacher = 't.py'\nstudent = s1 = s2 = 't.py'\n")
    assert load_config_set(str(tmp_path / "set.py")).teacher == tmp_path / "t.py"


@pytest.mark.parametrize("data, match", [
    ({"teacher": "a"}, "missing"),
    ({"teacher": "a", "student": "a", "s1": "a", "s2": "a", "techer_seed": 1}, "unknown keys"),
    ({"teacher": "a", "student": "a", "s1": "a", "s2": "a", "mmpose_s1": "a"}, "both mmpose_s1"),
    ({"teacher": "a", "student": "a", "s1": "a", "s2": "a", "demo_data": {"n": 3}}, "demo_data"),
    ({"teacher": "a", "student": "a", "s1": "a", "s2": "a", "cfg_options": "x=1"}, "cfg_options"),
])
def test_config_set_mistakes(tmp_path, data, match):
    (tmp_path / "a").write_text("")
    with pytest.raises(ValueError, match=match):
        config_set_from_dict(data, tmp_path)


def test_config_set_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="s1 config .* does not exist"):
        config_set_from_dict({"teacher": __file__, "student": __file__, "s1": "nope.py", "s2": __file__},
                             tmp_path)
    with pytest.raises(FileNotFoundError, match="neither a built-in set"):
        load_config_set("no-such-set")


def test_seeds_and_epochs_parsing():
    assert parse_seeds(None, None) == (0, 1, 2)
    assert parse_seeds(4, None) == (0, 1, 2, 3)
    assert parse_seeds(None, "5, 7") == (5, 7)
    for count, listed, match in ((2, "1", "not both"), (None, "1,1", "distinct"), (None, "a", "integers"),
                                 (0, None, "distinct")):
        with pytest.raises(ValueError, match=match):
            parse_seeds(count, listed)
    assert parse_epochs(None, EPOCHS) == EPOCHS
    assert parse_epochs("1", EPOCHS) == Epochs(1, 1, 1)
    assert parse_epochs("s1=3,s2=2", EPOCHS) == Epochs(40, 3, 2)
    for spec in ("s3=1", "x", "0"):
        with pytest.raises(ValueError, match="epochs"):
            parse_epochs(spec, EPOCHS)


def _options(step):
    return list(step.options)


def test_variant_steps_and_cfg_options(demo_set, tmp_path):
    teacher_ckpt = tmp_path / "teacher" / "train" / "final.pth"
    runs = {r.variant: r for r in build_plan(demo_set, VARIANT_NAMES, [3], EPOCHS, tmp_path, lambda: FROZEN)
            if r.seed == 3}
    plain = runs["plain"].steps
    assert [type(s) for s in plain] == [Train, Evaluate]
    assert plain[0].config == demo_set.student
    assert _options(plain[0]) == ["randomness.seed=3", "train_cfg.max_epochs=25"]  # same epochs as stage 1
    base = ["randomness.seed=3", "train_cfg.max_epochs=25", f"model.teacher_ckpt={teacher_ckpt}"]
    for name, extra in (("s1_logit", ["model.feature_alpha=0.0"]), ("s1_feature", ["model.logit_weight=0.0"]),
                        ("s1_full", []), ("s1_nodecay", ["model.epoch_decay=False"])):
        train, transfer, evaluate = runs[name].steps
        assert train.config == demo_set.s1 and _options(train) == base + extra
        run_dir = tmp_path / "runs" / name / "seed3"
        assert transfer == Transfer(train.output, run_dir / "s1_student.pth", "dwpose")
        assert evaluate.config == demo_set.student and evaluate.checkpoint == transfer.dst
        assert runs[name].result == run_dir / f"eval/{name}_seed3/{name}_seed3_wholebody_table.json"
    # the full recipe continues from s1_full's stage 1 of the same seed
    s1_train, s1_transfer, s2_train, s2_transfer, _ = runs["dwpose"].steps
    assert (s1_train, s1_transfer) == runs["s1_full"].steps[:2]
    assert s2_train.config == demo_set.s2
    assert _options(s2_train) == ["randomness.seed=3", "train_cfg.max_epochs=15",
                                  f"model.teacher_ckpt={s1_transfer.dst}"]
    # opt-in: the recipe with the teacher under bf16 autocast, in both stages
    b1_train, b1_transfer, b2_train, _, _ = runs["dwpose_bf16"].steps
    assert (b1_train, b1_transfer) == runs["s1_full_bf16"].steps[:2]
    assert _options(b1_train) == base + ["model.teacher_precision=bf16"]
    assert _options(b2_train) == ["randomness.seed=3", "train_cfg.max_epochs=15",
                                  f"model.teacher_ckpt={b1_transfer.dst}", "model.teacher_precision=bf16"]
    # the reference: mmpose's distiller, its converter, the stage-1 schedule frozen into both stages
    m1_train, m1_transfer, _ = runs["mmpose_s1"].steps
    assert _options(m1_train) == ["randomness.seed=3", "train_cfg.max_epochs=25",
                                  f"model.teacher_pretrained={teacher_ckpt}", *FROZEN[0]]
    assert m1_transfer.impl == "mmpose" and not m1_transfer.two_dis
    steps = runs["mmpose_dwpose"].steps
    assert steps[:2] == (m1_train, m1_transfer)
    assert steps[2].config == demo_set.mmpose_s2
    assert _options(steps[2]) == ["randomness.seed=3", "train_cfg.max_epochs=15",
                                  f"model.teacher_pretrained={m1_transfer.dst}", *FROZEN[1]]
    assert steps[3].impl == "mmpose" and steps[3].two_dis


def test_one_teacher_for_every_seed_and_seed_major_order(demo_set, tmp_path):
    plan = build_plan(demo_set, ["s1_full", "plain"], [0, 1], EPOCHS, tmp_path)
    assert [(r.variant, r.seed) for r in plan] == [("teacher", 21), ("plain", 0), ("s1_full", 0),
                                                   ("plain", 1), ("s1_full", 1)]
    assert _options(plan[0].steps[0]) == ["randomness.seed=21", "train_cfg.max_epochs=40"]
    teacher = plan[0].steps[0].output
    assert all(f"model.teacher_ckpt={teacher}" in r.steps[0].options for r in plan if r.variant == "s1_full")
    with pytest.raises(ValueError, match="unknown variant"):
        variant_run(demo_set, "s3", 0, EPOCHS, Path("/w"))
