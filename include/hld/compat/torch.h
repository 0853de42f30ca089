// The thin wrappers over LibTorch 2.x calls whose signatures or availability vary within the
// supported range (LibTorch 2.11 to 2.13, cmake/HldTorch.cmake: the pinned CPU wheel and the GPU
// machine's torch): fused attention, the flash sliding window, at::rms_norm, the fused AdamW and
// autocast (CUDA and CPU). Everything else calls these instead of the ATen entry points.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

static_assert(TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 11 && TORCH_VERSION_MINOR <= 13,
              "hld-train supports LibTorch 2.11 to 2.13 (cmake/HldTorch.cmake)");

namespace hld::compat {

/// Fused attention (at::scaled_dot_product_attention): `mask_TxT` is a boolean "may attend" mask
/// (or undefined for plain causal).
torch::Tensor sdpa(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                   const torch::Tensor& mask_TxT, double scale, bool is_causal);

/// Causal sliding-window attention in the flash kernel, key j visible from query q iff
/// q − window < j ≤ q, GQA inside the kernel (H a multiple of KV): q (B, T, H, D), k and v
/// (B, T, KV, D), all CUDA bf16 or fp16, D a multiple of 8 up to 256 → (B, T, H, D). CUDA only
/// (at::_flash_attention_forward's window_size_left / _right, kept for its backward).
torch::Tensor flash_window_attention(const torch::Tensor& q_BxTxHxD, const torch::Tensor& k_BxTxKxD,
                                     const torch::Tensor& v_BxTxKxD, int64_t window, double scale);

/// Gemma's RMSNorm through at::rms_norm: float32 statistics and scale (1 + w), cast back to x's
/// dtype, as Hugging Face computes it (a fused kernel on CUDA; the model uses it there).
torch::Tensor native_rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps);

/// The dtype matrix products on `x` run in: autocast's dtype while autocast is on for x's device
/// type (CUDA or CPU), else x's own dtype (for code that must recompute a product outside autocast).
at::ScalarType matmul_dtype(const torch::Tensor& x);

/// Whether training uses the fused AdamW kernel (at::_fused_adamw_) for `device`: CUDA. The CPU
/// kernel exists too (tests/train/fused_adamw_test.cpp runs it); the CPU optimizer keeps the
/// per-tensor update that the golden curves were written with.
bool has_fused_adamw(const torch::Device& device);

/// One AdamW update of every tensor in `params` by the fused kernel (PyTorch's update order:
/// decay, moments, bias-corrected step), one launch per group. `steps` holds each parameter's
/// float32 step count after this update (0-dim, on the device). CUDA and CPU tensors.
void fused_adamw(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                 const std::vector<torch::Tensor>& exp_avgs, const std::vector<torch::Tensor>& exp_avg_sqs,
                 const std::vector<torch::Tensor>& steps, double lr, double beta1, double beta2, double weight_decay,
                 double eps);

/// What run.dtype means for forward passes: "bfloat16" is autocast to bf16 on the run's device,
/// CUDA or CPU (float32 master weights, losses and optimizer); "float32" computes in the
/// parameters' float32.
inline bool bf16_autocast(const std::string& run_dtype) { return run_dtype == "bfloat16"; }

/// Whether this CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX): where it does not,
/// oneDNN emulates bf16 and run.dtype = bfloat16 is slower than float32 on the CPU.
bool cpu_has_native_bf16();

/// Autocast to `dtype` (bf16) for `device`'s type (CUDA or CPU) for the guard's lifetime when
/// `enabled` (a no-op otherwise); restores the previous state and, when the outermost guard ends,
/// clears autocast's cache of cast weights (which would otherwise go stale once training updates
/// them).
class AutocastGuard {
 public:
  AutocastGuard(const torch::Device& device, bool enabled, at::ScalarType dtype = at::kBFloat16);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false, prev_enabled_ = false;
  c10::DeviceType type_ = c10::DeviceType::CPU;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

}  // namespace hld::compat
