// Sampled teacher logits ("Sparse Logit Sampling", ACL 2025; teacher.logits: sampled): instead of
// the top-k, k token ids drawn with replacement from the teacher's softmax at temperature τ,
// kept sorted with their draw counts, and the sparse KD loss that is an unbiased estimate of the
// full-vocabulary forward KL. N tokens, V vocabulary, K draws.
//
// With x_1..x_k ~ p_T = softmax(z/τ) and log p_T(j) = z_j/τ − log Z_τ (Z_τ = Σ_v exp(z_v/τ)):
//   E[(1/k) Σ_i (log p_T(x_i) − log p_S(x_i))] = Σ_v p_T(v) (log p_T(v) − log p_S(v)) = KL(p_T ‖ p_S),
// and (1/k) Σ_i f(x_i) = Σ_j (c_j/k) f(j) over the unique ids j with counts c_j. Its gradient in
// the student's logits, (p_S − c/k)/τ, is the unbiased estimate of the full one, (p_S − p_T)/τ.
// The top-k renormalised loss (the paper's) has neither property: it is biased whenever the
// teacher puts mass outside its top-k.
//
// The draws are inverse-CDF samples of uniforms that a counter-based hash makes from
// (teacher.sample_seed, sequence id, position, slot): a sequence's draws do not depend on the
// batch it is in, the device, or whether the cache writer or the online teacher makes them.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace hld::teacher {

struct SampledLogits {
  torch::Tensor idx_NxK;     ///< drawn ids, ascending (int64); a repeated id follows its first slot
  torch::Tensor counts_NxK;  ///< draws of the id in its first slot, 0 in the repeats (float32, rows sum to K)
  torch::Tensor vals_NxK;    ///< the teacher's logits z at idx (float32, before temperature)
  torch::Tensor logz_N;      ///< log Σ_v exp(z_v / τ): what log p_T(j) = z_j/τ − logz needs
};

/// The uniforms of `seq_ids` (B sequences of T positions): (B·T, k) float64 in [0, 1), each row
/// ascending (so the ids drawn from it come out ascending).
torch::Tensor draw_uniforms(uint64_t seed, const std::vector<int64_t>& seq_ids, int64_t T, int64_t k);

/// Inverse-CDF draws from softmax(logits / τ): for each uniform u the first id whose cumulative
/// probability exceeds u (rows of `uniforms_NxK` ascending; computed in float64).
SampledLogits sample_logits(const torch::Tensor& logits_NxV, const torch::Tensor& uniforms_NxK, double temperature);
/// The same with k uniforms per row from `gen` (tests: independent caches).
SampledLogits sample_logits(const torch::Tensor& logits_NxV, int64_t k, double temperature, torch::Generator gen);

/// Draw counts of ascending ids: a run of equal ids has its length in its first slot, 0 in the
/// others (float32).
torch::Tensor run_counts(const torch::Tensor& idx_NxK);

/// τ² · mean over tokens of Σ_j (c_j / Σc) (z_j/τ − logz − log_softmax(student/τ)_j): the unbiased
/// sparse estimate of τ² · KL(p_T ‖ p_S) over the full vocabulary (the KD term's scale).
torch::Tensor sampled_kd(const torch::Tensor& student_logits_NxV, const SampledLogits& s, double temperature);

/// τ² · mean over tokens of the full-vocabulary KL(softmax(z_T/τ) ‖ softmax(z_S/τ)) (the reference).
torch::Tensor full_kd(const torch::Tensor& student_logits_NxV, const torch::Tensor& teacher_logits_NxV,
                      double temperature);

}  // namespace hld::teacher
