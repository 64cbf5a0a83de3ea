#!/usr/bin/env bash
# Distributed training with torchrun, from any directory:
#   bash tools/dist_train.sh CONFIG GPUS [train.py options]
# Multi-node: NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 bash tools/dist_train.sh ...
# Without a GPU, GPUS is the number of CPU processes (gloo backend).
# A user mistake (bad GPUS, missing config, bad option) ends with one `error:` line and exit status 2.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROG=tools/dist_train.sh
source "$ROOT/tools/launch_checks.sh"
if [[ $# -lt 2 ]]; then
    echo "usage: bash $PROG CONFIG GPUS [train.py options]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
check_file config "$CONFIG"
check_count GPUS "$GPUS"
check_torchrun_env
PYTHON=${PYTHON:-$( [[ -x "$ROOT/.venv/bin/python" ]] && echo "$ROOT/.venv/bin/python" || echo python )}

# dwpose.engine.torchrun: torchrun that exits 2 without a traceback when a worker reported a user mistake
PYTHONPATH="$ROOT:${PYTHONPATH:-}" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
exec "$PYTHON" -m dwpose.engine.torchrun \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "$@"
