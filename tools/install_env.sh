#!/usr/bin/env bash
# Idempotent environment set-up for DWPose: creates .venv in the repo root and installs the
# pinned stack. A second run on the same machine installs nothing (stamp file check), and the
# compiled mmcv wheel is built once into a cache outside the repo, keyed by the torch build.
#
# Environment knobs:
#   PYTHON             interpreter used to create .venv (default: python3.11, else python3)
#   DWPOSE_VENV        venv location (default: <repo>/.venv)
#   DWPOSE_WHEEL_CACHE wheel cache for compiled packages (default: ~/.cache/dwpose/wheels)
#   DWPOSE_KEEP_TORCH  1 = keep any torch/torchvision pair already importable in the venv (default 1)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DWPOSE_VENV:-$ROOT/.venv}"
CACHE="${DWPOSE_WHEEL_CACHE:-$HOME/.cache/dwpose/wheels}"
PY_BOOT="${PYTHON:-$(command -v python3.11 || command -v python3)}"
STAMP="$VENV/.dwpose-install-stamp"

log() { printf '[install] %s\n' "$*"; }

want_stamp() {
    # The stamp is the hash of everything that decides what gets installed.
    cat "$ROOT/tools/install_env.sh" "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(want_stamp)" && -x "$VENV/bin/python" ]]; then
    log "environment up to date ($VENV); nothing to install"
    exit 0
fi

START=$(date +%s)
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV with $PY_BOOT"
    "$PY_BOOT" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check)
# The machine-wide pip config may point at a local folder with a CPU-only torch wheel. torch and
# torchvision must come from the same build, so the registry pair is installed without it.
REGISTRY_PIP=(env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "$PY" -m pip install --disable-pip-version-check)

"${PIP[@]}" -q --upgrade "pip>=24" "setuptools<70" wheel ninja "cython>=3" "numpy>=2,<3"

# 1. torch + torchvision: keep a working pair (a cluster user's CUDA build), else the registry pair.
if [[ "${DWPOSE_KEEP_TORCH:-1}" == "1" ]] && "$PY" -c "import torch, torchvision, torchvision.ops; torchvision.ops.nms" 2>/dev/null; then
    log "keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
    log "installing torch 2.13.0 + torchvision 0.28.0 from the registry (several GB, ~2 min)"
    "${REGISTRY_PIP[@]}" -q "torch==2.13.0" "torchvision==0.28.0"
fi
TORCH_KEY=$("$PY" -c "import sys, torch; print(f'torch{torch.__version__.replace(\"+\", \"_\")}-cuda{torch.version.cuda}-cp{sys.version_info[0]}{sys.version_info[1]}')")

# 2. mmcv 2.1.0 with compiled ops, built once per torch build into the wheel cache.
MMCV_DIR="$CACHE/$TORCH_KEY"
mkdir -p "$MMCV_DIR"
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
    if ! ls "$MMCV_DIR"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
        log "building mmcv 2.1.0 with ops against $TORCH_KEY (once; about 20 min on 2 cores)"
        TMP_WHL=$(mktemp -d "$MMCV_DIR/.build.XXXX")
        # mmcv's setup.py needs pkg_resources (gone in setuptools >= 70; torch may have pulled a newer one).
        "${PIP[@]}" -q "setuptools<70"
        MAX_JOBS="${MAX_JOBS:-$(nproc)}" MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-0}" \
            "$PY" -m pip wheel --no-deps --no-build-isolation --no-binary mmcv "mmcv==2.1.0" -w "$TMP_WHL"
        mv "$TMP_WHL"/mmcv-2.1.0-*.whl "$MMCV_DIR"/   # atomic within one filesystem
        rm -rf "$TMP_WHL"
    fi
    log "installing cached $(ls "$MMCV_DIR"/mmcv-2.1.0-*.whl)"
    "${PIP[@]}" -q --no-deps "$MMCV_DIR"/mmcv-2.1.0-*.whl
fi

# 3. xtcocotools built against numpy 2 (the registry wheel is a numpy-1 build), also cached.
NP_KEY=$("$PY" -c "import sys, numpy; print(f'numpy{numpy.__version__.split(\".\")[0]}-cp{sys.version_info[0]}{sys.version_info[1]}')")
XT_DIR="$CACHE/$NP_KEY"
mkdir -p "$XT_DIR"
if ! "$PY" -c "import xtcocotools.coco, xtcocotools.cocoeval" 2>/dev/null; then
    if ! ls "$XT_DIR"/xtcocotools-1.14.3-*.whl >/dev/null 2>&1; then
        log "building xtcocotools 1.14.3 against numpy 2"
        TMP_WHL=$(mktemp -d "$XT_DIR/.build.XXXX")
        "$PY" -m pip wheel --no-deps --no-build-isolation --no-binary xtcocotools "xtcocotools==1.14.3" -w "$TMP_WHL"
        mv "$TMP_WHL"/xtcocotools-1.14.3-*.whl "$XT_DIR"/
        rm -rf "$TMP_WHL"
    fi
    "${PIP[@]}" -q --no-deps "$XT_DIR"/xtcocotools-1.14.3-*.whl
fi

# 4. Everything else, pinned; mmpose/mmdet without their broken declared dependency chain (chumpy).
log "installing pinned requirements"
"${PIP[@]}" -q -r "$ROOT/requirements.txt"
"${PIP[@]}" -q --no-deps "mmdet==3.3.0" "mmpose==1.3.2"
# Test-only: ControlNet's DWPose annotator, the reference of the black canvas (tests/reference); its
# files are loaded one by one, so none of its declared dependencies is needed.
"${PIP[@]}" -q --no-deps "controlnet_aux==0.0.10"
"${PIP[@]}" -q --no-deps -e "$ROOT"

"$PY" - <<'PYCHECK'
import torch, torchvision, mmcv, mmcv.ops, mmengine, mmdet, mmpose, xtcocotools.cocoeval  # noqa: F401
import mmpose.models  # noqa: F401  (needs mmcv ops)
import dwpose  # noqa: F401
print(f"[install] ok: torch {torch.__version__}, mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, "
      f"mmdet {mmdet.__version__}, mmpose {mmpose.__version__}")
PYCHECK
want_stamp > "$STAMP"
log "done in $(( $(date +%s) - START )) s"
