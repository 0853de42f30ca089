#!/usr/bin/env bash
# Everything issue 9 measures on the GPU machine, in one device call (logs and JSON under $OUT),
# most important first so that a call cut short still brings back the essentials: build, the CUDA
# tests, hld-train bench vs the eager Hugging Face peer, the 50-step bf16 vs float32 agreement,
# then the torch.compile peer (slowest: compilation). From this machine:
#   bash ../shared/gpu/prepare.sh
#   run(carry=[".gpu-deps"], command="bash scripts/gpu/device_check.sh", timeout_s=590)
set -uo pipefail
cd "$(dirname "$0")/../.."
export OUT=${OUT:-/tmp/device_check}
mkdir -p "$OUT"
step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }
step build
bash .gpu-deps/device-build.sh build-cuda 2>&1 | tee "$OUT/build.log" | tail -15
[ -x build-cuda/hld-train ] || exit 1
source build-cuda/env.sh
step "CUDA tests"
# Cuda*: the CUDA paths against the CPU (CudaPaths, CudaWindowedAttention: the flash kernel's sliding
# window and the blocked attention); BandedAttention: the blocked attention on this LibTorch's SDPA.
timeout 90 build-cuda/hld_tests --gtest_filter='Cuda*:BandedAttention*:FusedRmsNorm*:FusedRope*:ChunkedLmLoss*' \
  > "$OUT/cuda_tests.log" 2>&1
grep -E "^\[  (PASSED|FAILED|SKIPPED) " "$OUT/cuda_tests.log" | head -20
step "bench vs Hugging Face (eager)"
timeout 150 bash scripts/gpu/bench_vs_hf.sh build-cuda 2>&1 | tee "$OUT/bench_eager.log" | tail -4
step "bf16 vs float32, 50 steps"
timeout 150 bash scripts/gpu/bf16_agreement.sh build-cuda 2>&1 | tail -4
step "bench vs Hugging Face (torch.compile)"
timeout 200 bash scripts/gpu/bench_vs_hf.sh build-cuda --compile 2>&1 | tee "$OUT/bench_compile.log" | tail -4
step done
