# Shared machinery of the sweep scripts (paper_grid.sh, mini_grid.sh); sourced, not run.
#
# A grid is a list of runs, one per line: "NAME<TAB>OVERRIDE OVERRIDE ...", where each override is
# a `--set` assignment (no spaces). sweep_run executes such a list: one `hld-train train CONFIG
# --set ...` per run in RUNS_DIR/NAME, skipping runs whose folder has eval.json (finished),
# resuming the others (hld-train train resumes from the run's latest checkpoint by itself), N at a
# time, optionally only shard i of n (for several machines sharing a file system), with a
# per-run lock so that two launchers never train the same run at once.

# grid_lines LRS TAUS ALPHAS GAMMAS P1S: the Table 1 layout over the given value lists —
# NLL per η, KD per (η, τ, α), HLDC per (η, τ, α, γ), HLDF per (η, τ, α, P1); η_HT = η.
grid_lines() {
  local lrs=$1 taus=$2 alphas=$3 gammas=$4 p1s=$5 lr t a g p
  for lr in $lrs; do
    printf 'nll_lr%s\tobjective.name=nll optimizer.lr=%s\n' "$lr" "$lr"
  done
  for lr in $lrs; do for a in $alphas; do for t in $taus; do
    printf 'kd_lr%s_a%s_t%s\tobjective.name=kd optimizer.lr=%s objective.alpha=%s objective.temperature=%s\n' \
      "$lr" "$a" "$t" "$lr" "$a" "$t"
  done; done; done
  for lr in $lrs; do for a in $alphas; do for t in $taus; do for g in $gammas; do
    printf 'hldc_lr%s_a%s_t%s_g%s\tobjective.name=hldc optimizer.lr=%s objective.alpha=%s objective.temperature=%s objective.gamma=%s\n' \
      "$lr" "$a" "$t" "$g" "$lr" "$a" "$t" "$g"
  done; done; done; done
  for lr in $lrs; do for a in $alphas; do for t in $taus; do for p in $p1s; do
    printf 'hldf_lr%s_a%s_t%s_p%s\tobjective.name=hldf optimizer.lr=%s objective.alpha=%s objective.temperature=%s objective.p1=%s\n' \
      "$lr" "$a" "$t" "$p" "$lr" "$a" "$t" "$p"
  done; done; done; done
}

# with_seeds SEEDS: repeats every grid line per seed (suffix _sSEED, run.seed=SEED) when more
# than one seed, or a seed other than 0, is asked for; reads lines on stdin. A seed changes the
# student's initialisation and the data order; "{seed}" in any --set value is replaced by it.
with_seeds() {
  local seeds=$1 name sets s
  if [ "$seeds" = "0" ]; then cat; return; fi
  while IFS=$'\t' read -r name sets; do
    for s in ${seeds//,/ }; do printf '%s_s%s\t%s run.seed=%s\n' "$name" "$s" "$sets" "$s"; done
  done
}

# with_variants DIVERGENCES PAIRS [LOGITS]: repeats every distilled line (kd, hldc, hldf) per
# logit divergence (objective.divergence; forward_kl, the paper's, keeps the line's name, the
# others add _NAME), every HLDC/HLDF line per hidden-layer preset (paper: the one D_S/2 ↔ D_T/2
# pair; uniform: objective.hidden_map=uniform, suffix _uniform) and every distilled line per kind
# of teacher logits (topk, the paper's; sampled: teacher.logits=sampled, suffix _sampled, forward
# KL only, and it needs a sampled cache: "{logits}" in a --set value is replaced by the run's kind,
# e.g. teacher.cache=DIR-{logits}-s{seed}); reads lines on stdin.
with_variants() {
  local divs=$1 pairs=$2 kinds=${3:-topk} name sets d p l n s
  for d in $divs; do
    case $d in forward_kl|reverse_kl|jsd|skew_kl|tvd) ;;
      *) sweep_die "--divergences: unknown divergence '$d' (forward_kl, reverse_kl, jsd, skew_kl, tvd)" ;; esac
  done
  for p in $pairs; do
    case $p in paper|uniform) ;; *) sweep_die "--pairs: unknown preset '$p' (paper, uniform)" ;; esac
  done
  for l in $kinds; do
    case $l in topk|sampled) ;; *) sweep_die "--logits: unknown kind '$l' (topk, sampled)" ;; esac
  done
  while IFS=$'\t' read -r name sets; do
    case " $sets " in
      *" objective.name=nll "*) printf '%s\t%s\n' "$name" "$sets"; continue ;;
    esac
    for l in $kinds; do
      for d in $divs; do
        [ "$l" = topk ] || [ "$d" = forward_kl ] || continue  # sampled logits estimate the forward KL only
        for p in $pairs; do
          case " $sets " in *" objective.name=kd "*) [ "$p" = paper ] || continue ;; esac
          n=$name s=$sets
          if [ "$d" != forward_kl ]; then n+="_$d"; s+=" objective.divergence=$d"; fi
          if [ "$p" = uniform ]; then n+="_uniform"; s+=" objective.hidden_map=uniform"; fi
          if [ "$l" = sampled ]; then n+="_sampled"; s+=" teacher.logits=sampled"; fi
          printf '%s\t%s\n' "$n" "$s"
        done
      done
    done
  done
}

sweep_die() { echo "$(basename "$0"): $*" >&2; exit 2; }

# sweep_run CONFIG RUNS_DIR JOBS SHARD DRY_RUN GPUS EXTRA_SETS... < grid lines
sweep_run() {
  local config=$1 runs_dir=$2 jobs=$3 shard=$4 dry=$5 gpus=$6
  shift 6
  local extra=("$@")
  local bin=${HLD_TRAIN:-build/hld-train}
  local si=0 sn=1
  if [ -n "$shard" ]; then
    [[ $shard =~ ^([0-9]+)/([0-9]+)$ ]] || sweep_die "--shard '$shard': expected i/n with 0 <= i < n"
    si=${BASH_REMATCH[1]}; sn=${BASH_REMATCH[2]}
    [ "$sn" -ge 1 ] && [ "$si" -lt "$sn" ] || sweep_die "--shard '$shard': expected i/n with 0 <= i < n"
  fi
  [[ $jobs =~ ^[1-9][0-9]*$ ]] || sweep_die "--jobs '$jobs': expected a positive integer"
  [ -f "$config" ] || sweep_die "config '$config' does not exist"
  local -a gpu_list=()
  if [ -n "$gpus" ]; then IFS=',' read -r -a gpu_list <<< "$gpus"; jobs=${#gpu_list[@]}; fi
  if [ "$dry" != 1 ] && [ ! -x "$bin" ]; then
    sweep_die "hld-train binary '$bin' not found (build it, or set HLD_TRAIN)"
  fi

  local -a names=() cmds=()
  local idx=0 name sets a
  while IFS=$'\t' read -r name sets; do
    [ -n "$name" ] || continue
    if [ $((idx % sn)) -eq "$si" ]; then
      local dir="$runs_dir/$name"
      local cmd=("$bin" train "$config")
      # "{seed}" in an override stands for the run's seed (e.g. a teacher cache per seed),
      # "{logits}" for its kind of teacher logits (topk | sampled: a cache of that kind).
      local run_seed=0 run_logits=topk
      [[ " $sets " =~ \ run\.seed=([0-9]+)\  ]] && run_seed=${BASH_REMATCH[1]}
      [[ " $sets " =~ \ teacher\.logits=([a-z]+)\  ]] && run_logits=${BASH_REMATCH[1]}
      for a in $sets "${extra[@]+"${extra[@]}"}"; do
        a=${a//\{seed\}/$run_seed}
        cmd+=(--set "${a//\{logits\}/$run_logits}")
      done
      cmd+=(--set "run.dir=$dir")
      names+=("$name")
      cmds+=("$(printf '%q ' "${cmd[@]}")")
    fi
    idx=$((idx + 1))
  done

  if [ "$dry" = 1 ]; then
    local i
    for i in "${!names[@]}"; do
      if [ -f "$runs_dir/${names[$i]}/eval.json" ]; then echo "# finished: $runs_dir/${names[$i]}"; fi
      echo "${cmds[$i]% }"
    done
    echo "# ${#names[@]} runs (shard $si/$sn of $idx)" >&2
    return 0
  fi

  mkdir -p "$runs_dir"
  local status_dir
  status_dir=$(mktemp -d "${TMPDIR:-/tmp}/hld_sweep.XXXXXX")
  local -a slot_pid=()
  local i s free
  for i in "${!names[@]}"; do
    local dir="$runs_dir/${names[$i]}"
    if [ -f "$dir/eval.json" ]; then echo "skip  ${names[$i]} (finished)"; continue; fi
    free=""
    while [ -z "$free" ]; do
      for ((s = 0; s < jobs; s++)); do
        if [ -z "${slot_pid[$s]:-}" ] || ! kill -0 "${slot_pid[$s]}" 2>/dev/null; then free=$s; break; fi
      done
      [ -n "$free" ] || wait -n 2>/dev/null || sleep 1
    done
    echo "start ${names[$i]}${gpus:+ on GPU ${gpu_list[$free]}}"
    (
      mkdir -p "$dir"
      exec 9> "$dir/.sweep.lock"
      if command -v flock > /dev/null && ! flock -n 9; then
        echo "busy  ${names[$i]} (another launcher holds its lock)"; exit 0
      fi
      [ -n "$gpus" ] && export CUDA_VISIBLE_DEVICES=${gpu_list[$free]}
      rc=0
      { echo "== $(date -u +%FT%TZ) ${cmds[$i]}"; eval "${cmds[$i]}"; } >> "$dir/sweep.log" 2>&1 || rc=$?
      if [ "$rc" = 0 ] && [ ! -f "$dir/eval.json" ]; then
        # The trainer evaluates at the end when eval tasks are configured; otherwise evaluate now.
        local_eval="${cmds[$i]/ train / eval }"
        { echo "== $(date -u +%FT%TZ) $local_eval"; eval "$local_eval"; } >> "$dir/sweep.log" 2>&1 || rc=$?
      fi
      echo "$rc" > "$status_dir/${names[$i]}"
      if [ "$rc" = 0 ]; then echo "done  ${names[$i]}"; else echo "FAIL  ${names[$i]} (exit $rc, see $dir/sweep.log)"; fi
    ) &
    slot_pid[$free]=$!
  done
  wait
  local failed=0 f
  for f in "$status_dir"/*; do
    [ -e "$f" ] || continue
    [ "$(cat "$f")" = 0 ] || failed=$((failed + 1))
  done
  rm -rf "$status_dir"
  if [ "$failed" -gt 0 ]; then echo "$failed run(s) failed" >&2; return 1; fi
  return 0
}
