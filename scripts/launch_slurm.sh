#!/usr/bin/env bash
# Slurm batch script for `hld-train train` that survives preemption and time limits: Slurm sends
# SIGUSR1 three minutes before the end (--signal), every rank finishes its step, one checkpoint is
# written and hld-train exits with code 75; this script then requeues the job, which resumes from
# that checkpoint (bitwise the run it would have been). Any other status ends the job as it is
# (0 done, 2 bad input, 1 failure). A peer or network failure mid-run also exits 75 and is requeued.
#
#   sbatch --nodes=4 --ntasks-per-node=8 --gpus-per-node=8 --cpus-per-task=12 --time=24:00:00 \
#          scripts/launch_slurm.sh configs/paper/hldf.yaml --set run.dir=runs/hldf-32gpu
#
# Environment: HLD_TRAIN_BIN (default: build/hld-train beside this script, else hld-train on PATH),
# MASTER_PORT (default: 20000 + job id mod 40000), HLD_DIST_TIMEOUT (passed through),
# HLD_MAX_REQUEUES (default 20: a job that keeps failing this way stops being requeued).
#SBATCH --job-name=hld-train
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --signal=USR1@180
set -uo pipefail

[ $# -ge 1 ] || { echo "usage: sbatch [options] $0 CONFIG [hld-train train args...]" >&2; exit 2; }
: "${SLURM_JOB_ID:?launch_slurm.sh: not inside a Slurm job (submit it with sbatch)}"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." 2>/dev/null && pwd)
bin=${HLD_TRAIN_BIN:-}
if [ -z "$bin" ]; then
  if [ -x "$root/build/hld-train" ]; then bin=$root/build/hld-train; else bin=$(command -v hld-train || true); fi
fi
[ -n "$bin" ] || { echo "launch_slurm.sh: hld-train not found (set HLD_TRAIN_BIN)" >&2; exit 2; }

# The rendezvous: the first node of the allocation; every rank reads RANK etc. from srun's SLURM_*.
export MASTER_ADDR=${MASTER_ADDR:-$(scontrol show hostnames "${SLURM_JOB_NODELIST:-localhost}" | head -n 1)}
export MASTER_PORT=${MASTER_PORT:-$((20000 + SLURM_JOB_ID % 40000))}

echo "launch_slurm.sh: job $SLURM_JOB_ID (restart ${SLURM_RESTART_COUNT:-0}) on $MASTER_ADDR:$MASTER_PORT"
srun "$bin" train "$@"
rc=$?
if [ "$rc" -eq 75 ]; then
  if [ "${SLURM_RESTART_COUNT:-0}" -ge "${HLD_MAX_REQUEUES:-20}" ]; then
    echo "launch_slurm.sh: stopped with its work saved (exit 75), but requeued ${SLURM_RESTART_COUNT} times already; not requeueing" >&2
    exit 75
  fi
  echo "launch_slurm.sh: hld-train stopped with its work saved (exit 75); requeueing job $SLURM_JOB_ID"
  scontrol requeue "$SLURM_JOB_ID"
  exit 75
fi
exit "$rc"
