// The de-embedding and the token losses (eq. 1's NLL and eq. 2's top-k KD) fused over row
// chunks, so that training never holds the (N, V) logits of a whole micro-batch in float32:
// forward computes each chunk's logits h·Wᵀ, its NLL and KD sums and the row log-normalisers, then
// drops the logits; backward recomputes each chunk's logits and accumulates dL/dh and dL/dW.
// When one chunk covers every row, its logits are kept instead (no recomputation: small models).
// Values and gradients equal objectives::nll and kd_kl / kd_divergence on linear(h, W) (tests/objectives).
// chunked_row_nll is the same forward per row, without autograd: what evaluation scores with.
#pragma once

#include <torch/torch.h>

#include "hld/objectives/divergence.h"

namespace hld::objectives {

struct LmLossTerms {
  torch::Tensor nll;  ///< eq. 1, mean over tokens (scalar)
  torch::Tensor kd;   ///< τ²·mean D(p_T ‖ p_S) over the K kept entries (+ the rest); undefined without a teacher
};

/// Rows per chunk for a vocabulary of V: about 256 MiB of float32 logits (at least 64 rows): few
/// enough chunks that a GPU step is not dominated by their kernel launches (16 for the paper's
/// 32k vocabulary at 16 × 2048 tokens), small against its activations.
int64_t default_chunk_rows(int64_t vocab);

/// h_NxD: final-normed states; w_VxD: the tied embedding; targets_N: next tokens. Teacher
/// top-k (vals_NxK float, idx_NxK int64) may be undefined tensors (NLL only). Matrix products run
/// in h's dtype (bf16 under autocast), softmax arithmetic in float32 (float64 stays float64).
/// `divergence` picks the KD term's D (default: the paper's forward KL on renormalised top-k, in
/// closed form); any other spec differentiates divergence_rows on each chunk's (n, K) student
/// log-probabilities. teacher_logz_N: the teacher's log-sum-exp of logits/τ, needed by tail: bucket.
/// teacher_counts_NxK: sampled teacher logits (draw counts of idx, with logz; teacher/sampled_logits.h):
/// the unbiased forward-KL estimate, τ² mean Σ_k (c_k/Σc)(vals_k/τ − logz − log q_k), paper spec only.
LmLossTerms chunked_lm_loss(const torch::Tensor& h_NxD, const torch::Tensor& w_VxD, const torch::Tensor& targets_N,
                            const torch::Tensor& teacher_vals_NxK, const torch::Tensor& teacher_idx_NxK,
                            double temperature, int64_t chunk_rows, const DivergenceSpec& divergence = {},
                            const torch::Tensor& teacher_logz_N = {}, const torch::Tensor& teacher_counts_NxK = {});

struct RowNll {
  torch::Tensor nll_N;     ///< lse − z_target per row (float32; float64 for float64 inputs)
  torch::Tensor greedy_N;  ///< bool: the target is the argmax of the row's logits
};

/// The NLL of every row, computed chunk by chunk exactly as chunked_lm_loss's forward computes its
/// terms (same products, dtypes and logsumexp), with no graph: no (N, V) float32 logits are held.
RowNll chunked_row_nll(const torch::Tensor& h_NxD, const torch::Tensor& w_VxD, const torch::Tensor& targets_N,
                       int64_t chunk_rows);

}  // namespace hld::objectives
