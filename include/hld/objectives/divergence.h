// Logit divergences D(p_T ‖ p_S) over the cached support (objective.divergence, objective.tail):
// pure functions of the teacher's probabilities on its K kept entries and the student's
// full-vocabulary log-probabilities gathered at the same ids. Formulas and references:
// docs/objectives.md. The student is always its true distribution collapsed onto K + 1
// categories (the K ids and "the rest", of mass 1 − Σ_k q_k); `tail` decides the teacher's rest:
// renormalise (paper) gives it 0 mass, bucket keeps the teacher's own mass outside the top-k.
#pragma once

#include <torch/torch.h>

#include "hld/config/experiment.h"

namespace hld::objectives {

/// Which divergence and its parameters (from config::ObjectiveConfig).
struct DivergenceSpec {
  config::Divergence kind = config::Divergence::kForwardKl;  ///< forward_kl (paper) | reverse_kl | jsd | skew_kl | tvd
  double jsd_beta = 0.5;                                     ///< jsd: β ∈ [0, 1] (0: forward KL, 1: reverse KL)
  double skew = 0.1;                                       ///< skew_kl: λ ∈ (0, 1], mixture λ p_S + (1 − λ) p_T
  config::TailMode tail = config::TailMode::kRenormalise;  ///< renormalise (paper) | bucket
  /// True for the paper's forward KL on renormalised top-k (the fused closed-form path).
  bool is_paper() const { return kind == config::Divergence::kForwardKl && tail == config::TailMode::kRenormalise; }
};

/// The spec a config asks for.
DivergenceSpec divergence_spec(const config::ObjectiveConfig& o);

/// Refuses (InputError naming objective.tail) a bucket spec without the teacher's log-sum-exp for
/// each of the N rows; a no-op under renormalise.
void check_tail_signals(const DivergenceSpec& spec, const torch::Tensor& logz_N, int64_t rows);

/// Teacher log-probabilities on the support, (N, K), at temperature τ. renormalise:
/// log_softmax(vals/τ) over the K entries. bucket: vals/τ − logz_τ, where `logz_N` is the
/// teacher's full-vocabulary log-sum-exp of logits/τ (requires logz_N; InputError naming
/// objective.tail otherwise), in float64 so that the rest 1 − Σ exp keeps its digits.
torch::Tensor teacher_log_probs(const DivergenceSpec& spec, const torch::Tensor& vals_NxK, const torch::Tensor& logz_N,
                                double temperature);

/// Per-row divergence, (N,), differentiable in `student_logq_NxK` (any float dtype; float64 stays
/// float64). teacher_logp_NxK: the teacher's log-probabilities (or log-weights) on the support —
/// rows sum to 1 under renormalise, to 1 − tail under bucket. student_logq_NxK: log p_S at the
/// support ids, normalised over the full vocabulary. Each rest's log is log1mexp of the row's
/// log-sum-exp, in float64 (never 1 − Σ in float32, which cancels when the ids hold nearly all the
/// mass), at least log 1e-30 (float64: log 1e-300).
torch::Tensor divergence_rows(const DivergenceSpec& spec, const torch::Tensor& teacher_logp_NxK,
                              const torch::Tensor& student_logq_NxK);

/// τ² · mean over rows of divergence_rows, from full student logits (N, V) and the cached
/// top-k (vals, idx): the reference for every divergence (the training loss computes the same
/// through the chunked de-embedding). For the paper's spec this is exactly kd_kl.
torch::Tensor kd_divergence(const DivergenceSpec& spec, const torch::Tensor& student_logits_NxV,
                            const torch::Tensor& teacher_vals_NxK, const torch::Tensor& teacher_idx_NxK,
                            const torch::Tensor& teacher_logz_N, double temperature);

}  // namespace hld::objectives
