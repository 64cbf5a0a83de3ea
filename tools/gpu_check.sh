#!/usr/bin/env bash
# The GPU check: one prepared run of every CUDA figure of the project (docs/gpu.md).
#
#   bash tools/gpu_check.sh [--dry-run] [--out DIR] [--carry DIR] [gpu_check.py options]
#   bash tools/gpu_check.sh --fetch [--carry DIR]      # here, with a registry: fill the carry folder
#
# On a bare GPU machine that reaches no registry it installs the pure-Python dependencies from the
# wheels in the carry folder (default .carry/, see docs/gpu.md for the pinned list), builds mmcv 2.1.0
# and xtcocotools 1.14.3 from their carried source archives with all cores, then runs
# tools/analysis/gpu_check.py, which writes gpu_check.json and gpu_check.md under --out (default $OUT,
# else ./gpu_check_out). --dry-run installs nothing, checks the carry list and every step's command
# line on this machine (no CUDA), and finishes in well under a minute.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DRY=0 FETCH=0
OUT_DIR="${OUT:-$ROOT/gpu_check_out}"
CARRY="$ROOT/.carry"
PASS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) DRY=1 ;;
        --fetch) FETCH=1 ;;
        --out) OUT_DIR=$2; shift ;;
        --carry) CARRY=$2; shift ;;
        *) PASS+=("$1") ;;
    esac
    shift
done
PYTHON=${PYTHON:-$( [[ -x "$ROOT/.venv/bin/python" && $DRY == 1 ]] && echo "$ROOT/.venv/bin/python" || echo python3 )}
export PYTHON  # tools/dist_train.sh starts torchrun with it
log() { printf '[gpu_check] %s\n' "$*" >&2; }

# What travels: pinned wheels (py3 / cp312 manylinux) and two source archives. One name a line.
WHEELS=(mmengine==0.10.7 mmpose==1.3.2 mmdet==3.3.0 addict==2.4.0 yapf==0.43.0 platformdirs==4.3.6
        termcolor==2.5.0 json-tricks==3.17.3 munkres==1.1.4 pycocotools==2.0.11 shapely==2.2.0
        terminaltables==3.1.10 setuptools==69.5.1)
SDISTS=(mmcv==2.1.0 xtcocotools==1.14.3)

if [[ $FETCH == 1 ]]; then
    mkdir -p "$CARRY"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 \
        --platform any -d "$CARRY" "${WHEELS[@]}"
    # source archives: their metadata step imports torch / numpy, so the project's venv downloads them
    "${VENV_PYTHON:-$ROOT/.venv/bin/python}" -m pip download -q --no-deps --no-binary=:all: \
        --no-build-isolation -d "$CARRY" "${SDISTS[@]}"
    du -ch "$CARRY"/* >&2
    exit 0
fi

carried() {  # the carry folder's file for a pinned NAME==VERSION (wheel or sdist), or nothing
    local name=${1%%==*} version=${1##*==}
    ls "$CARRY"/"${name//-/_}"-"$version"[-.]* "$CARRY"/"$name"-"$version"[-.]* 2>/dev/null | head -1
}

if [[ $DRY == 1 ]]; then
    log "dry run: carry list ${#WHEELS[@]} wheels + ${#SDISTS[@]} source archives (present here: $(
        n=0; for p in "${WHEELS[@]}" "${SDISTS[@]}"; do [[ -n "$(carried "$p")" ]] && n=$((n + 1)); done; echo $n))"
    bash -n tools/dist_train.sh
    exec "$PYTHON" tools/analysis/gpu_check.py --dry-run --out "$OUT_DIR" ${PASS[@]+"${PASS[@]}"}
fi

# ---- the real run, on the GPU machine -----------------------------------------------------------
START=$(date +%s)
SITE=/tmp/gpu_check_site
missing=()
for p in "${WHEELS[@]}" "${SDISTS[@]}"; do [[ -n "$(carried "$p")" ]] || missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "error: the carry folder $CARRY lacks ${missing[*]} (fill it with: bash tools/gpu_check.sh --fetch)" >&2
    exit 2
fi
wheels=(); for p in "${WHEELS[@]}"; do wheels+=("$(carried "$p")"); done
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "${wheels[@]}"
export PYTHONPATH="$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# mmcv's ops: CPU kernels only by default (RTMPose, the distillers and the pipeline call no mmcv CUDA
# kernel; a CUDA build for one arch takes longer than the whole check). MMCV_CUDA=1 builds them too.
BUILD=/tmp/gpu_check_build
mkdir -p "$BUILD"
log "building mmcv 2.1.0 (ops, FORCE_CUDA=${MMCV_CUDA:-0}) and xtcocotools with $(nproc) cores"
MAX_JOBS=$(nproc) MMCV_WITH_OPS=1 FORCE_CUDA="${MMCV_CUDA:-0}" TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}" \
    python3 -m pip wheel -q --no-deps --no-build-isolation --no-index -w "$BUILD" \
    "$(carried mmcv==2.1.0)" "$(carried xtcocotools==1.14.3)" >&2
python3 -m pip install -q --no-index --no-deps --no-compile --target "$SITE" --upgrade "$BUILD"/*.whl
log "installed in $(( $(date +%s) - START )) s"
python3 -c "import mmcv.ops, mmpose.models, dwpose.plugin" || { echo "error: the carried stack does not import" >&2; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
mkdir -p "$OUT_DIR"
[[ -d "$CARRY/coco-wholebody-mini" ]] && PASS=(--data "$CARRY/coco-wholebody-mini" ${PASS[@]+"${PASS[@]}"})
python3 tools/analysis/gpu_check.py --out "$OUT_DIR" ${PASS[@]+"${PASS[@]}"}
