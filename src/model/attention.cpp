// Gemma 3 grouped-query attention with QK-norm, RoPE and sliding-window masks.
#include "hld/model/attention.h"

#include <cmath>
#include <limits>

#include "hld/model/windowed_attention.h"
#include "hld/compat/torch.h"

namespace hld::model {

torch::Tensor attention_mask(int64_t T, int64_t window, torch::Device device) {
  auto idx = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(device));
  auto q = idx.unsqueeze(1), k = idx.unsqueeze(0);
  auto allowed = k <= q;
  if (window > 0) allowed = allowed & (k > q - window);
  return allowed;
}

torch::Tensor eager_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& allowed, double scale) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t KV = k.size(1), G = H / KV;
  // Group query heads by their shared KV head: head h uses KV head h / G (repeat_kv order), so a
  // batch of (G·T, D) × (D, T) products. The mask enters as an additive 0 / −∞ bias and the scale
  // as the product's alpha: one baddbmm instead of a product, a scaling and a masked fill.
  const auto bias = torch::zeros({T, T}, q.options())
                        .masked_fill_(allowed.logical_not(), -std::numeric_limits<double>::infinity())
                        .repeat({G, 1});  // (G*T, T)
  auto scores = torch::baddbmm(bias, q.reshape({B * KV, G * T, D}), k.reshape({B * KV, T, D}).transpose(1, 2),
                               /*beta=*/1.0, /*alpha=*/scale);  // (B*KV, G*T, T)
  auto probs = torch::softmax(scores, -1, at::promote_types(q.scalar_type(), torch::kFloat32)).to(q.scalar_type());
  auto out = torch::bmm(probs, v.reshape({B * KV, T, D}));  // (B*KV, G*T, D)
  return out.view({B, H, T, D});
}

bool attention_reads_mask(const torch::Device& device, int64_t window, int64_t T) {
  return !device.is_cuda() && !(window > 0 && 4 * window <= T);
}

AttentionImpl::AttentionImpl(const config::ModelConfig& c, bool global)
    : heads_(c.num_heads),
      kv_heads_(c.num_kv_heads),
      head_dim_(c.head_dim),
      window_(global ? 0 : c.sliding_window),
      scale_(1.0 / std::sqrt(c.query_pre_attn_scalar)) {
  auto lin = [](int64_t in, int64_t out) { return torch::nn::LinearOptions(in, out).bias(false); };
  q_proj = register_module("q_proj", torch::nn::Linear(lin(c.hidden_size, c.num_heads * c.head_dim)));
  k_proj = register_module("k_proj", torch::nn::Linear(lin(c.hidden_size, c.num_kv_heads * c.head_dim)));
  v_proj = register_module("v_proj", torch::nn::Linear(lin(c.hidden_size, c.num_kv_heads * c.head_dim)));
  o_proj = register_module("o_proj", torch::nn::Linear(lin(c.num_heads * c.head_dim, c.hidden_size)));
  q_norm = register_module("q_norm", RMSNorm(c.head_dim, c.rms_norm_eps));
  k_norm = register_module("k_norm", RMSNorm(c.head_dim, c.rms_norm_eps));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& allowed, const RopeTables& rope) {
  const int64_t B = x.size(0), T = x.size(1);
  // QK-norm and RoPE act on the last dimension, so they run in the projections' (B, T, H, D)
  // layout (contiguous: what the fused CPU kernels take); the eager path and SDPA want (B, H, T, D).
  auto q_BxTxHxD = apply_rope(q_norm(q_proj(x).view({B, T, heads_, head_dim_})), rope);
  auto k_BxTxKxD = apply_rope(k_norm(k_proj(x).view({B, T, kv_heads_, head_dim_})), rope);
  auto v_BxTxKxD = v_proj(x).view({B, T, kv_heads_, head_dim_});
  torch::Tensor out_BxTxHxD;
  if (attention_reads_mask(x.device(), window_, T)) {
    out_BxTxHxD = eager_attention(q_BxTxHxD.transpose(1, 2), k_BxTxKxD.transpose(1, 2).contiguous(),
                                  v_BxTxKxD.transpose(1, 2).contiguous(), allowed, scale_)
                      .transpose(1, 2);
  } else if (window_ > 0 && window_ < T) {
    out_BxTxHxD = sliding_window_attention(q_BxTxHxD, k_BxTxKxD, v_BxTxKxD, window_, scale_);
  } else {  // global layers, and windows spanning the whole sequence: causal SDPA
    auto k_BxHxTxD = k_BxTxKxD.transpose(1, 2), v_BxHxTxD = v_BxTxKxD.transpose(1, 2);
    const int64_t G = heads_ / kv_heads_;
    if (G > 1) {
      k_BxHxTxD = k_BxHxTxD.repeat_interleave(G, 1);
      v_BxHxTxD = v_BxHxTxD.repeat_interleave(G, 1);
    }
    out_BxTxHxD = compat::sdpa(q_BxTxHxD.transpose(1, 2), k_BxHxTxD, v_BxHxTxD, torch::Tensor(), scale_,
                               /*is_causal=*/true)
                      .transpose(1, 2);
  }
  return o_proj(out_BxTxHxD.reshape({B, T, heads_ * head_dim_}));
}

}  // namespace hld::model
