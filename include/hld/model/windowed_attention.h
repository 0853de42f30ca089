// Sliding-window attention without a (T, T) mask, the CUDA path of the sliding layers: the flash
// kernel's own window where it passes a check against the reference once,
// else blocked attention, query tiles of W rows against their band of 2W keys. Key j is visible
// from query q iff q − W < j ≤ q, as in attention_mask; GQA without repeating K and V.
#pragma once

#include <torch/torch.h>

namespace hld::model {

/// softmax(q kᵀ · scale + mask) v over the last two dimensions, `allowed_LxS` a boolean "may
/// attend" mask broadcast over the leading ones (every row must allow one key): SDPA.
torch::Tensor masked_attention(const torch::Tensor& q_NxCxLxD, const torch::Tensor& k_NxCxSxD,
                               const torch::Tensor& v_NxCxSxD, const torch::Tensor& allowed_LxS, double scale);

/// Blocked sliding-window attention: the first W queries against their first W keys (causal), every
/// later tile of W queries against its 2W keys with one (W, 2W) band mask, all tiles in one call;
/// the G query heads of a KV head are stacked along the rows. Any T (the last tile is padded and
/// cut), W ≥ T is plain causal. q (B, H, T, D), k and v (B, KV, T, D) → (B, H, T, D). Exactly
/// eager_attention with attention_mask(T, W) up to rounding; on any device.
torch::Tensor banded_attention(const torch::Tensor& q_BxHxTxD, const torch::Tensor& k_BxKxTxD,
                               const torch::Tensor& v_BxKxTxD, int64_t window, double scale);

/// Whether compat::flash_window_attention serves inputs of this kind: `q` is on CUDA, `dtype` (what the attention
/// computes in) is bf16 or fp16 and head_dim a multiple of 8 up to 256, and the kernel, tried once per device, dtype
/// and head_dim on a small problem, matches the float64 reference in forward and gradients.
bool flash_window_usable(const torch::Tensor& q_BxTxHxD, at::ScalarType dtype);

/// The sliding layers' attention on CUDA: flash's window where flash_window_usable
/// (in autocast's dtype), else banded_attention. q (B, T, H, D), k and v (B, T, KV, D) → (B, T, H, D).
torch::Tensor sliding_window_attention(const torch::Tensor& q_BxTxHxD, const torch::Tensor& k_BxTxKxD,
                                       const torch::Tensor& v_BxTxKxD, int64_t window, double scale);

}  // namespace hld::model
