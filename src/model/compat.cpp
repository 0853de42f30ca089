// Version-dependent LibTorch calls (see hld/util/compat.h).
#include "hld/util/compat.h"

// HLD_WITH_CUDA is defined by CMake when LibTorch was built with CUDA.
#if defined(HLD_WITH_CUDA)
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace hld::compat {

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

bool has_fused_adamw(const torch::Device& device) {
#if HLD_TORCH2
  return device.is_cuda();
#else
  (void)device;
  return false;
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

}  // namespace hld::compat
