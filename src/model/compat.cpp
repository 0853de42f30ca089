// Version-dependent LibTorch calls (see hld/util/compat.h).
#include "hld/util/compat.h"

#include <algorithm>

#include <ATen/autocast_mode.h>

#include "hld/util/error.h"

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

torch::Tensor flash_window_attention(const torch::Tensor& q_BxTxHxD, const torch::Tensor& k_BxTxKxD,
                                     const torch::Tensor& v_BxTxKxD, int64_t window, double scale) {
#if HLD_TORCH2_6
  // Flash's window is (left, right) keys around the query, inclusive: left = W − 1, right = 0
  // (the causal flag). No dropout, no debug mask; the autograd node keeps the window for backward.
  auto out = at::_flash_attention_forward(q_BxTxHxD, k_BxTxKxD, v_BxTxKxD, /*cum_seq_q=*/c10::nullopt,
                                          /*cum_seq_k=*/c10::nullopt, q_BxTxHxD.size(1), k_BxTxKxD.size(1),
                                          /*dropout_p=*/0.0, /*is_causal=*/true, /*return_debug_mask=*/false, scale,
                                          /*window_size_left=*/window - 1, /*window_size_right=*/0);
  return std::get<0>(out);
#else
  (void)q_BxTxHxD, (void)k_BxTxKxD, (void)v_BxTxKxD, (void)window, (void)scale;
  throw std::runtime_error("[flash_window_attention] a flash sliding window needs LibTorch >= 2.6");
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
  at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, lr, beta1, beta2, weight_decay,
                    eps, /*amsgrad=*/false, /*maximize=*/false);
#else
  (void)params, (void)grads, (void)exp_avgs, (void)exp_avg_sqs, (void)steps, (void)lr, (void)beta1, (void)beta2,
      (void)weight_decay, (void)eps;
  throw std::runtime_error("[fused_adamw] at::_fused_adamw_ needs LibTorch >= 2.0 with CUDA");
#endif
}

}  // namespace hld::compat
