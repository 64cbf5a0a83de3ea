"""Import this module to register DWPose's components into MMPose / MMEngine registries.

Configs use ``custom_imports = dict(imports=['dwpose.plugin'], allow_failed_imports=False)``.
``import dwpose`` alone stays light (no torch, no mm*) so inference-only installs work; this module
is the one place that pulls in the training stack.
"""

from dwpose.datasets import decode_warp as _decode_warp  # noqa: F401  fast_decode_warp transforms
from dwpose.datasets import packing as _packing  # noqa: F401  LeanPackPoseInputs
from dwpose.datasets import ubody_dataset as _ubody_dataset  # noqa: F401  UBodyWholeBodyDataset
from dwpose.distiller import model as _distiller  # noqa: F401  TwoStageDistiller, FrozenTeacherEMAHook
from dwpose.engine import amp as _amp  # noqa: F401  CPUBf16OptimWrapper (--amp on a CPU)
from dwpose.engine import checkpoint as _checkpoint  # noqa: F401  weights_only allow-list
from dwpose.engine import runner as _runner  # noqa: F401  DWPoseRunner (atomic checkpoints)
from dwpose.engine import safetensors_io as _safetensors_io
from dwpose.evaluation import metric as _metric  # noqa: F401  WholeBodyTableMetric
from dwpose.evaluation import pckh_metric as _pckh_metric  # noqa: F401  MpiiPCKhTableMetric
from dwpose.models import data_preprocessor as _data_preprocessor  # noqa: F401  SimCCTargetPreprocessor

_safetensors_io.register_mmengine_loader()  # load_from / Pretrained init read .safetensors too
