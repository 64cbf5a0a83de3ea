#!/usr/bin/env bash
# Distributed evaluation with torchrun, from any directory; ends with the AP/AR table:
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
# A user mistake (bad GPUS, missing config or checkpoint, bad option) ends with one `error:` line and
# exit status 2.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROG=tools/dist_test.sh
source "$ROOT/tools/launch_checks.sh"
if [[ $# -lt 3 ]]; then
    echo "usage: bash $PROG CONFIG CHECKPOINT GPUS [test.py options]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
check_file config "$CONFIG"
check_file checkpoint "$CHECKPOINT"
check_count GPUS "$GPUS"
check_torchrun_env
PYTHON=${PYTHON:-$( [[ -x "$ROOT/.venv/bin/python" ]] && echo "$ROOT/.venv/bin/python" || echo python )}

PYTHONPATH="$ROOT:${PYTHONPATH:-}" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
exec "$PYTHON" -m dwpose.engine.torchrun \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
