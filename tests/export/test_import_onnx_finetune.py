"""An imported ONNX model fine-tunes: `dwpose import-onnx` writes a `.safetensors`, `tools/train.py`
loads it with `load_from` and takes one real step on the shared COCO-WholeBody mini photos.

The source model is the demo student (128x96) with random weights and non-trivial BatchNorm
statistics; its ONNX file is written by `dwpose export onnx` (BatchNorms folded into the convolutions).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tests.checkpoint.formats import STUDENT_CFG as DEMO_STUDENT
from tests.checkpoint.test_entry_points import _tool
from tests.distiller.helpers import randomize_bn_stats, single_thread

pytest.importorskip("mmpose")
pytest.importorskip("onnx")
pytest.importorskip("safetensors")

LR = 1e-3
STUDENT_CFG = str(DEMO_STUDENT)  # a shipped config: its pipeline, codec and head agree (128x96)


def _imported(folder: Path, capsys) -> Path:
    """A random student -> .pth -> `dwpose export onnx` -> `dwpose import-onnx` -> .safetensors."""
    from dwpose.cli import main
    from dwpose.inference.torch_pose import TorchPoseModel

    torch.manual_seed(4)
    model = TorchPoseModel(STUDENT_CFG, None).model
    with torch.no_grad():
        randomize_bn_stats(model, 4)
        model.head.cls_x.weight.mul_(0.01)  # logits of a trained model's size
        model.head.cls_y.weight.mul_(0.01)
    pth, onnx_path, out = folder / "source.pth", folder / "source.onnx", folder / "imported.safetensors"
    torch.save({"state_dict": model.state_dict()}, pth)
    assert main(["export", "onnx", STUDENT_CFG, str(pth), str(onnx_path)]) == 0
    assert main(["import-onnx", str(onnx_path), STUDENT_CFG, str(out)]) == 0, capsys.readouterr().err
    assert out.read_bytes()[8:9] == b"{"  # a safetensors header
    return out


def _train_one_step(ckpt: Path, data: Path, work_dir: Path, capsys) -> None:
    """`tools/train.py` on 4 real people, batch 4, one epoch: one optimizer step from ``ckpt``."""
    opts = [
        f"load_from={ckpt}", f"data_root={data}/",
        f"train_dataloader.dataset.data_root={data}/",
        "train_dataloader.dataset.ann_file=coco_wholebody_mini.json",
        "train_dataloader.dataset.data_prefix.img=images/",
        "train_dataloader.dataset.indices=4", "train_dataloader.batch_size=4",
        "train_dataloader.num_workers=0", "train_dataloader.persistent_workers=False",
        "train_cfg.max_epochs=1", "val_cfg=None", "val_dataloader=None", "val_evaluator=None",
        "test_cfg=None", "test_dataloader=None", "test_evaluator=None",
        # a constant learning rate (no warm-up from 1e-8) and no EMA: the saved weights are the step's
        f"optim_wrapper.optimizer.lr={LR}", "param_scheduler=[]", "custom_hooks=[]",
        "default_hooks.checkpoint.interval=1", "default_hooks.checkpoint.save_best=None",
        "default_hooks.logger.interval=1", "visualizer.vis_backends=[]",
    ]
    with single_thread():
        code = _tool("train").main([STUDENT_CFG, "--work-dir", str(work_dir), "--cfg-options", *opts])
    assert code == 0, capsys.readouterr().err


def test_imported_model_fine_tunes_one_step_on_real_photos(coco_mini, tmp_path, capsys):
    from dwpose.engine.checkpoint import plain_to_buffers, read_checkpoint
    from dwpose.export.onnx_import import import_onnx

    ckpt = _imported(tmp_path, capsys)
    in_memory, _, _ = import_onnx(tmp_path / "source.onnx", STUDENT_CFG)  # what the CLI wrote
    assert all(p.requires_grad for p in in_memory.model.parameters())  # the importer freezes nothing
    start = read_checkpoint(ckpt)["state_dict"]
    assert float(start["backbone.stem.0.bn.running_mean"].abs().max()) == 0.0  # identity statistics

    _train_one_step(ckpt, coco_mini, tmp_path / "work", capsys)
    saved = read_checkpoint(tmp_path / "work" / "epoch_1.pth")
    assert (saved["meta"]["epoch"], saved["meta"]["iter"]) == (1, 1)
    losses = plain_to_buffers(saved["message_hub"]["log_scalars"])["train/loss"].data[0]
    assert len(losses) == 1 and math.isfinite(float(losses[0])) and float(losses[0]) > 0
    after = saved["state_dict"]
    assert set(after) == set(start)

    params = {name for name, _ in in_memory.model.named_parameters()}
    unchanged = sorted(k for k in params if torch.equal(after[k], start[k]))
    assert unchanged == []  # every parameter took the step: nothing frozen
    # one Adam step moves each weight by about the learning rate: fine-tuned from the imported
    # weights, not trained from a fresh initialisation
    step = max(float((after[k] - start[k]).abs().max()) for k in params)
    assert step <= 1.5 * LR
    # train-mode BatchNorm: the running means leave the identity statistics towards the batch's
    means = [k for k in start if k.endswith(".running_mean")]
    assert means and all(not torch.equal(after[k], start[k]) for k in means)
    assert float(after["backbone.stem.0.bn.running_mean"].abs().max()) > 0
