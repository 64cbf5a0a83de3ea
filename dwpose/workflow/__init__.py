"""The steps of the recipe as public functions: generate data, pre-train, train, transfer, evaluate.

``dwpose demo`` and ``dwpose study`` are thin users of these; a script of your own can chain them
the same way (see :mod:`dwpose.workflow.steps`).
"""

from dwpose.workflow.steps import (
    RunOptions,
    Training,
    data_options,
    evaluate,
    pretrained_options,
    run_tool,
    save_untrained,
    train,
    train_all,
    transfer,
    write_pretrained_child,
)

__all__ = ["RunOptions", "Training", "data_options", "evaluate", "pretrained_options", "run_tool",
           "save_untrained", "train", "train_all", "transfer", "write_pretrained_child"]
