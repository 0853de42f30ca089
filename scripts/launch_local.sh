#!/usr/bin/env bash
# Starts N local data-parallel processes of `hld-train train CONFIG [args...]` with the torchrun
# variables set (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, a free
# MASTER_PORT), prefixes each rank's output with [rank i], waits, and stops the others as soon as
# one fails. Exit status: 0 when every rank succeeded, else the first failing rank's status.
# SIGINT, SIGTERM and SIGUSR1 are forwarded to every rank, which then stop together with a
# checkpoint and exit 75 (docs/distributed.md, "Preemption"); a rank that exits 75 does not make
# the launcher stop the others (they are stopping, or fail on their own, the same way).
#
#   scripts/launch_local.sh 2 configs/quickstart/nll.yaml --set run.threads=1
#
# Environment: HLD_TRAIN_BIN (default: build/hld-train, else hld-train on PATH), MASTER_PORT
# (default: a free port), HLD_DIST_TIMEOUT (seconds, passed through), HLD_LAUNCH_GRACE (seconds
# a failing job's other ranks get after SIGTERM before SIGKILL, default 5).
set -uo pipefail

usage() { echo "usage: $0 N CONFIG [hld-train train args...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
n=$1; shift
[[ "$n" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "launch_local.sh: N='$n': expected a process count >= 1" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${HLD_TRAIN_BIN:-}
if [ -z "$bin" ]; then
  if [ -x "$root/build/hld-train" ]; then bin=$root/build/hld-train; else bin=$(command -v hld-train || true); fi
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "launch_local.sh: hld-train not found (set HLD_TRAIN_BIN)" >&2; exit 2; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${MASTER_PORT:-}
if [ -z "$port" ]; then
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! port_in_use "$p"; then port=$p; break; fi
  done
  [ -n "$port" ] || { echo "launch_local.sh: no free TCP port found" >&2; exit 1; }
fi

pids=()
cleanup() {
  local sig=$1
  for p in "${pids[@]}"; do kill "-$sig" "$p" 2>/dev/null; done
}
forwarded=0
forward() { forwarded=1; cleanup "$1"; }
trap 'forward INT' INT
trap 'forward TERM' TERM
trap 'forward USR1' USR1

for ((i = 0; i < n; i++)); do
  # Each rank in its own session: a Ctrl-C on the terminal reaches the launcher only, which forwards
  # it once (a rank that got it twice would take the second as "stop now", without a checkpoint);
  # the output filters ignore it so that the ranks' last lines still come through.
  RANK=$i WORLD_SIZE=$n LOCAL_RANK=$i LOCAL_WORLD_SIZE=$n MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    setsid "$bin" train "$@" > >(trap '' INT TERM USR1; exec sed -u "s/^/[rank $i] /") 2>&1 &
  pids+=($!)
done

# Poll: the first rank to fail takes the job down; the others are stopped (TERM, then KILL).
status=0
declare -A done_
remaining=$n
while [ "$remaining" -gt 0 ]; do
  for ((i = 0; i < n; i++)); do
    p=${pids[$i]}
    [ -n "${done_[$i]:-}" ] && continue
    if ! kill -0 "$p" 2>/dev/null; then
      wait "$p"; rc=$?
      done_[$i]=1
      remaining=$((remaining - 1))
      if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ] && { [ "$rc" -eq 75 ] || [ "$forwarded" -eq 1 ]; }; then
        status=$rc  # stopping with a checkpoint (or a peer failure): the others do the same
      elif [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then
        status=$rc
        echo "launch_local.sh: rank $i exited with status $rc; stopping the other ranks" >&2
        cleanup TERM
        grace=${HLD_LAUNCH_GRACE:-5}
        for ((t = 0; t < grace * 10; t++)); do
          alive=0
          for q in "${pids[@]}"; do kill -0 "$q" 2>/dev/null && alive=1; done
          [ $alive -eq 0 ] && break
          sleep 0.1
        done
        cleanup KILL
      fi
    fi
  done
  [ "$remaining" -gt 0 ] && sleep 0.1
done
wait 2>/dev/null  # the output filters
exit $status
