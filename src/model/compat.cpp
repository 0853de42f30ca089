// Version-dependent LibTorch calls (see hld/util/compat.h).
#include "hld/util/compat.h"

#include <malloc.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <ATen/autocast_mode.h>

// HLD_WITH_CUDA is defined by CMake when LibTorch was built with CUDA.
#if defined(HLD_WITH_CUDA)
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "hld/util/error.h"

namespace hld::compat {

torch::Device resolve_device(const std::string& spec) {
  if (spec == "auto") return torch::cuda::is_available() ? torch::Device("cuda:0") : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::kCPU;
  HLD_INPUT_CHECK(torch::cuda::is_available(), "run.device = '" + spec + "': CUDA is not available in this build/machine");
  return torch::Device(spec == "cuda" ? "cuda:0" : spec);
}

torch::Tensor sdpa(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                   const torch::Tensor& mask_TxT, double scale, bool is_causal) {
#if HLD_TORCH2
  c10::optional<at::Tensor> mask;
  if (mask_TxT.defined()) mask = mask_TxT;
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, is_causal && !mask_TxT.defined(), scale);
#else
  (void)q, (void)k, (void)v, (void)mask_TxT, (void)scale, (void)is_causal;
  throw std::runtime_error("[sdpa] scaled_dot_product_attention needs LibTorch >= 2.0");
#endif
}

torch::Tensor native_rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
#if HLD_TORCH2_4
  const auto acc = at::promote_types(x.scalar_type(), torch::kFloat32);
  return at::rms_norm(x.to(acc), {x.size(-1)}, 1.0 + w.to(acc), eps).to(x.scalar_type());
#else
  (void)x, (void)w, (void)eps;
  throw std::runtime_error("[native_rms_norm] at::rms_norm needs LibTorch >= 2.4");
#endif
}

// The autocast API took a device type argument in LibTorch 2.4.
#define HLD_AUTOCAST_BY_DEVICE HLD_TORCH2_4

CudaAutocastGuard::CudaAutocastGuard(bool enabled, at::ScalarType dtype) {
  if (!enabled) return;
  active_ = true;
#if HLD_AUTOCAST_BY_DEVICE
  prev_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
  prev_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
#else
  prev_enabled_ = at::autocast::is_enabled();
  prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
  at::autocast::set_enabled(true);
  at::autocast::set_autocast_gpu_dtype(dtype);
#endif
  at::autocast::increment_nesting();
}

CudaAutocastGuard::~CudaAutocastGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if HLD_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_enabled(at::kCUDA, prev_enabled_);
  at::autocast::set_autocast_dtype(at::kCUDA, prev_dtype_);
#else
  at::autocast::set_enabled(prev_enabled_);
  at::autocast::set_autocast_gpu_dtype(prev_dtype_);
#endif
}

int usable_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

void use_all_cpus() {
  if (!std::getenv("OMP_NUM_THREADS")) torch::set_num_threads(usable_cpus());
}

void cache_large_cpu_allocations() {
  if (std::getenv("GLIBC_TUNABLES") || std::getenv("MALLOC_MMAP_MAX_")) return;
  mallopt(M_MMAP_MAX, 0);                // the main arena grows with brk only
  mallopt(M_TRIM_THRESHOLD, 1 << 30);    // and keeps up to 1 GiB of freed top-of-heap memory
}

at::ScalarType matmul_dtype(const torch::Tensor& x) {
  if (!x.is_cuda()) return x.scalar_type();
#if HLD_AUTOCAST_BY_DEVICE
  if (at::autocast::is_autocast_enabled(at::kCUDA)) return at::autocast::get_autocast_dtype(at::kCUDA);
#else
  if (at::autocast::is_enabled()) return at::autocast::get_autocast_gpu_dtype();
#endif
  return x.scalar_type();
}

bool has_fused_adamw(const torch::Device& device) {
#if HLD_TORCH2
  return device.is_cuda();
#else
  (void)device;
  return false;
#endif
}

void fused_adamw(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                 const std::vector<torch::Tensor>& exp_avgs, const std::vector<torch::Tensor>& exp_avg_sqs,
                 const std::vector<torch::Tensor>& steps, double lr, double beta1, double beta2, double weight_decay,
                 double eps) {
#if HLD_TORCH2
  at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, lr, beta1, beta2,
                    weight_decay, eps, /*amsgrad=*/false, /*maximize=*/false);
#else
  (void)params, (void)grads, (void)exp_avgs, (void)exp_avg_sqs, (void)steps, (void)lr, (void)beta1, (void)beta2,
      (void)weight_decay, (void)eps;
  throw std::runtime_error("[fused_adamw] at::_fused_adamw_ needs LibTorch >= 2.0 with CUDA");
#endif
}

int64_t cuda_peak_memory(int device_index) {
#if defined(HLD_WITH_CUDA)
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device_index);
  return stats.allocated_bytes[0].peak;
#else
  (void)device_index;
  return 0;
#endif
}

void cuda_reset_peak_memory(int device_index) {
#if defined(HLD_WITH_CUDA)
  c10::cuda::CUDACachingAllocator::resetPeakStats(device_index);
#else
  (void)device_index;
#endif
}

void cuda_synchronize(int device_index) {
#if defined(HLD_WITH_CUDA)
  c10::cuda::device_synchronize();
#else
  (void)device_index;
#endif
}

uint64_t cuda_free_memory(int device_index) {
#if defined(HLD_WITH_CUDA)
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(device_index));
  size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) != cudaSuccess) return 0;
  return free;
#else
  (void)device_index;
  return 0;
#endif
}

}  // namespace hld::compat
