#!/usr/bin/env bash
# Everything measured on the GPU machine, in one device call (logs and JSON under $OUT), most
# important first so that a call cut short still brings back the essentials: build, the CUDA tests
# (HLD_REQUIRE_CUDA=1: a skipped CUDA test is a failure), hld-train bench vs the eager Hugging Face
# peer, the 50-step bf16 vs float32 agreement, then the torch.compile peer (slowest: compilation).
# Exits non-zero when any step failed (each is still attempted). From this machine:
#   bash scripts/gpu/prepare.sh
#   run(carry=[".gpu-deps", ".deps"], command="bash scripts/gpu/device_check.sh", timeout_s=590)
set -uo pipefail
cd "$(dirname "$0")/../.."
export OUT=${OUT:-/tmp/device_check}
mkdir -p "$OUT"
failed=()
step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }
check() { local rc=$1; shift; [ "$rc" -eq 0 ] || { failed+=("$*"); echo "FAILED: $* (exit $rc)"; }; }
step build
bash scripts/gpu/build.sh build-cuda 2>&1 | tee "$OUT/build.log" | tail -15
[ -x build-cuda/hld-train ] || { echo "FAILED: build"; exit 1; }
source build-cuda/env.sh
step "CUDA tests"
# Cuda*: the CUDA paths against the CPU (CudaPaths, CudaWindowedAttention: the flash kernel's sliding
# window and the blocked attention); the CPU suites of the same code paths beside them.
HLD_REQUIRE_CUDA=1 timeout 120 build-cuda/hld_tests \
  --gtest_filter='Cuda*:Compat*:BandedAttention*:FusedRmsNorm*:FusedRope*:ChunkedLmLoss*' > "$OUT/cuda_tests.log" 2>&1
check $? "CUDA tests"
grep -E "^\[  (PASSED|FAILED|SKIPPED) " "$OUT/cuda_tests.log" | head -20
step "bench vs Hugging Face (eager)"
timeout 150 bash scripts/gpu/bench_vs_hf.sh build-cuda 2>&1 | tee "$OUT/bench_eager.log" | tail -4
check "${PIPESTATUS[0]}" "bench vs Hugging Face (eager)"
step "bf16 vs float32, 50 steps"
timeout 150 bash scripts/gpu/bf16_agreement.sh build-cuda 2>&1 | tail -4
check "${PIPESTATUS[0]}" "bf16 vs float32"
step "bench vs Hugging Face (torch.compile)"
timeout 200 bash scripts/gpu/bench_vs_hf.sh build-cuda --compile 2>&1 | tee "$OUT/bench_compile.log" | tail -4
check "${PIPESTATUS[0]}" "bench vs Hugging Face (torch.compile)"
step done
[ ${#failed[@]} -eq 0 ] || { echo "device check FAILED: ${failed[*]}"; exit 1; }
echo "device check passed"
