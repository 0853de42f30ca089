// The one place that knows LibTorch versions apart (Debian's 1.13 CPU build here, 2.x CUDA on the
// GPU machine). Everything else calls these helpers instead of testing TORCH_VERSION itself.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#define HLD_TORCH2 1
#else
#define HLD_TORCH2 0
#endif
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define HLD_TORCH2_4 1
#else
#define HLD_TORCH2_4 0
#endif
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 6)
#define HLD_TORCH2_6 1
#else
#define HLD_TORCH2_6 0
#endif

namespace hld::compat {

/// True when at::scaled_dot_product_attention exists (LibTorch ≥ 2.0).
constexpr bool kHasSdpa = HLD_TORCH2;

/// Fused attention on LibTorch 2.x: `mask_TxT` is a boolean "may attend" mask (or undefined
/// for plain causal). Only called when kHasSdpa; the 1.13 build has a stub that throws.
torch::Tensor sdpa(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                   const torch::Tensor& mask_TxT, double scale, bool is_causal);

/// True when at::_flash_attention_forward takes a sliding window (window_size_left / _right, kept
/// for its backward by FlashAttentionBackward0): LibTorch ≥ 2.6, as its headers show.
constexpr bool kHasFlashWindow = HLD_TORCH2_6;

/// Causal sliding-window attention in the flash kernel, key j visible from query q iff
/// q − window < j ≤ q, GQA inside the kernel (H a multiple of KV): q (B, T, H, D), k and v
/// (B, T, KV, D), all CUDA bf16 or fp16, D a multiple of 8 up to 256 → (B, T, H, D). Throws where
/// the kernel is missing (and without kHasFlashWindow).
torch::Tensor flash_window_attention(const torch::Tensor& q_BxTxHxD, const torch::Tensor& k_BxTxKxD,
                                     const torch::Tensor& v_BxTxKxD, int64_t window, double scale);

/// True when at::rms_norm exists (LibTorch ≥ 2.4; a fused kernel on CUDA in recent versions).
constexpr bool kHasNativeRmsNorm = HLD_TORCH2_4;

/// Gemma's RMSNorm through at::rms_norm: float32 statistics and scale (1 + w), cast back to x's
/// dtype, as Hugging Face computes it. Only called when kHasNativeRmsNorm (else throws).
torch::Tensor native_rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps);

/// The dtype matrix products on `x` run in: CUDA autocast's dtype while it is on for a CUDA
/// tensor, else x's own dtype (for code that must recompute a product outside autocast).
at::ScalarType matmul_dtype(const torch::Tensor& x);

/// True when the fused AdamW kernel (at::_fused_adamw_) is available for `device`.
bool has_fused_adamw(const torch::Device& device);

/// One AdamW update of every tensor in `params` by the fused kernel (PyTorch's update order:
/// decay, moments, bias-corrected step), one launch per group. `steps` holds each parameter's
/// float32 step count after this update (0-dim, on the device). Only when has_fused_adamw.
void fused_adamw(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                 const std::vector<torch::Tensor>& exp_avgs, const std::vector<torch::Tensor>& exp_avg_sqs,
                 const std::vector<torch::Tensor>& steps, double lr, double beta1, double beta2, double weight_decay,
                 double eps);

/// What run.dtype means for forward passes on `device`: "bfloat16" is CUDA autocast (float32
/// master weights); everything else, and every CPU run, computes in the parameters' float32.
inline bool bf16_autocast(const torch::Device& device, const std::string& run_dtype) {
  return device.is_cuda() && run_dtype == "bfloat16";
}

/// CUDA autocast to `dtype` (bf16) for the guard's lifetime when `enabled` (a no-op otherwise);
/// restores the previous state and, when the outermost guard ends, clears autocast's cache of
/// cast weights (which would otherwise go stale once training updates them).
class CudaAutocastGuard {
 public:
  explicit CudaAutocastGuard(bool enabled, at::ScalarType dtype = at::kBFloat16);
  ~CudaAutocastGuard();
  CudaAutocastGuard(const CudaAutocastGuard&) = delete;
  CudaAutocastGuard& operator=(const CudaAutocastGuard&) = delete;

 private:
  bool active_ = false, prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

}  // namespace hld::compat
