# Argument checks shared by the dist_* and slurm_* launch scripts (sourced, not run). Each failure is
# one "$PROG: error: ..." line and exit status 2, before any process is started.

die() {
    echo "$PROG: error: $*" >&2
    exit 2
}

# check_file WHAT PATH: PATH is an existing regular file
check_file() {
    if [[ -d $2 ]]; then die "$1 $2 is a folder, not a file"; fi
    if [[ ! -f $2 ]]; then die "$1 $2 does not exist"; fi
}

# check_count NAME VALUE: VALUE is a whole number >= 1
check_count() {
    if [[ ! $2 =~ ^[0-9]+$ ]] || (( 10#$2 < 1 )); then
        die "$1 must be a whole number >= 1, got '$2'"
    fi
}

# the multi-node variables of the dist_* scripts
check_torchrun_env() {
    check_count NNODES "$NNODES"
    if [[ ! $NODE_RANK =~ ^[0-9]+$ ]] || (( 10#$NODE_RANK >= 10#$NNODES )); then
        die "NODE_RANK must be a whole number below NNODES=$NNODES, got '$NODE_RANK'"
    fi
    if [[ ! $PORT =~ ^[0-9]+$ ]] || (( 10#$PORT < 1 || 10#$PORT > 65535 )); then
        die "PORT must be a port number (1-65535), got '$PORT'"
    fi
}
