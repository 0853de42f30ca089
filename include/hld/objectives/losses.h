// The paper's loss terms as pure functions of tensors (eq. 1–4 with SPEC §6's decisions). Each
// returns the scalar loss averaged over tokens; shapes are in the argument names
// (N tokens, V vocabulary, K kept teacher logits, D hidden width).
#pragma once

#include <torch/torch.h>

namespace hld::objectives {

/// Eq. 1: mean next-token negative log-likelihood. logits (N, V) any float dtype; targets (N,).
torch::Tensor nll(const torch::Tensor& logits_NxV, const torch::Tensor& targets_N);

/// τ² · mean over tokens of KL(p_T ‖ p_S) (the L_logits of eq. 2), where
/// p_T = softmax(teacher_vals / τ) renormalised over the K stored entries and
/// log p_S = log_softmax(student_logits / τ) over the full vocabulary, gathered at the indices.
torch::Tensor kd_kl(const torch::Tensor& student_logits_NxV, const torch::Tensor& teacher_vals_NxK,
                    const torch::Tensor& teacher_idx_NxK, double temperature);

/// Eq. 4 / L_emb: MSE(h_T / ‖h_T‖, h_S / ‖h_S‖) with norms per token vector. `reduction`
/// "mean" averages over tokens and dimensions (the paper's MeanSquaredError); "sum_dims" sums
/// over dimensions and averages over tokens.
torch::Tensor normalized_mse(const torch::Tensor& teacher_NxD, const torch::Tensor& student_NxD,
                             const std::string& reduction = "mean");

/// Row-wise top-k of teacher logits: values (N, K) float32 and indices (N, K) int64.
std::pair<torch::Tensor, torch::Tensor> top_k_logits(const torch::Tensor& logits_NxV, int64_t k);

}  // namespace hld::objectives
