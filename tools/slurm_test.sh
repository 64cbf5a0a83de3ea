#!/usr/bin/env bash
# Slurm evaluation, one task per GPU:
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [GPUS] [test.py options]
# A user mistake (bad GPUS, missing config or checkpoint) ends with one `error:` line and exit status 2.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROG=tools/slurm_test.sh
source "$ROOT/tools/launch_checks.sh"
if [[ $# -lt 4 ]]; then
    echo "usage: bash $PROG PARTITION JOB_NAME CONFIG CHECKPOINT [GPUS] [options]" >&2
    exit 2
fi
PARTITION=$1; JOB_NAME=$2; CONFIG=$3; CHECKPOINT=$4; shift 4
GPUS=8
if [[ $# -gt 0 && $1 != -* ]]; then GPUS=$1; shift; fi
check_file config "$CONFIG"
check_file checkpoint "$CHECKPOINT"
check_count GPUS "$GPUS"
GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
check_count GPUS_PER_NODE "$GPUS_PER_NODE"
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
check_count CPUS_PER_TASK "$CPUS_PER_TASK"
PYTHON=${PYTHON:-$( [[ -x "$ROOT/.venv/bin/python" ]] && echo "$ROOT/.venv/bin/python" || echo python )}

PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} "$PYTHON" -u "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher slurm "$@"
