// The LibTorch 2.x wrappers of hld/compat/torch.h.
#include "hld/compat/torch.h"

#include <algorithm>

#include <ATen/autocast_mode.h>
#include <ATen/cpu/Utils.h>

#include "hld/util/error.h"

namespace hld::compat {

torch::Tensor sdpa(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                   const torch::Tensor& mask_TxT, double scale, bool is_causal) {
  c10::optional<at::Tensor> mask;
  if (mask_TxT.defined()) mask = mask_TxT;
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, is_causal && !mask_TxT.defined(), scale);
}

torch::Tensor flash_window_attention(const torch::Tensor& q_BxTxHxD, const torch::Tensor& k_BxTxKxD,
                                     const torch::Tensor& v_BxTxKxD, int64_t window, double scale) {
  // Flash's window is (left, right) keys around the query, inclusive: left = W − 1, right = 0
  // (the causal flag). No dropout, no debug mask; the autograd node keeps the window for backward.
  auto out = at::_flash_attention_forward(q_BxTxHxD, k_BxTxKxD, v_BxTxKxD, /*cum_seq_q=*/c10::nullopt,
                                          /*cum_seq_k=*/c10::nullopt, q_BxTxHxD.size(1), k_BxTxKxD.size(1),
                                          /*dropout_p=*/0.0, /*is_causal=*/true, /*return_debug_mask=*/false, scale,
                                          /*window_size_left=*/window - 1, /*window_size_right=*/0);
  return std::get<0>(out);
}

torch::Tensor native_rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  const auto acc = at::promote_types(x.scalar_type(), torch::kFloat32);
  return at::rms_norm(x.to(acc), {x.size(-1)}, 1.0 + w.to(acc), eps).to(x.scalar_type());
}

bool cpu_has_native_bf16() {
  const auto caps = at::cpu::get_cpu_capabilities();
  auto has = [&](const char* k) {
    const auto it = caps.find(k);
    return it != caps.end() && it->second.isBool() && it->second.toBool();
  };
  return has("avx512_bf16") || has("amx_bf16");
}

AutocastGuard::AutocastGuard(const torch::Device& device, bool enabled, at::ScalarType dtype) : type_(device.type()) {
  if (!enabled) return;
  active_ = true;
  prev_enabled_ = at::autocast::is_autocast_enabled(type_);
  prev_dtype_ = at::autocast::get_autocast_dtype(type_);
  at::autocast::set_autocast_enabled(type_, true);
  at::autocast::set_autocast_dtype(type_, dtype);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(type_, prev_enabled_);
  at::autocast::set_autocast_dtype(type_, prev_dtype_);
}

at::ScalarType matmul_dtype(const torch::Tensor& x) {
  const auto type = x.device().type();
  if (x.is_floating_point() && x.scalar_type() != at::kDouble && at::autocast::is_autocast_enabled(type))
    return at::autocast::get_autocast_dtype(type);
  return x.scalar_type();
}

bool has_fused_adamw(const torch::Device& device) { return device.is_cuda(); }

void fused_adamw(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                 const std::vector<torch::Tensor>& exp_avgs, const std::vector<torch::Tensor>& exp_avg_sqs,
                 const std::vector<torch::Tensor>& steps, double lr, double beta1, double beta2, double weight_decay,
                 double eps) {
  at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, lr, beta1, beta2, weight_decay,
                    eps, /*amsgrad=*/false, /*maximize=*/false);
}

}  // namespace hld::compat
