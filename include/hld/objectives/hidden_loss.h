// The hidden-state distances of objective.hidden_pairs (docs/objectives.md), as pure functions of
// tensors. N tokens, D the teacher's width (the regressor maps the student to it).
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "hld/config/experiment.h"
#include "hld/config/hidden_pairs.h"
#include "hld/objectives/objective.h"
#include "hld/objectives/regressor.h"

namespace hld::objectives {

/// 1 − cos(h_T, h_S) per token vector, averaged over tokens. Since ‖a−b‖² = 2 − 2·cos for unit
/// vectors, this equals D/2 × normalized_mse(…, "mean") (and 1/2 × normalized_mse(…, "sum_dims")).
torch::Tensor cosine_distance(const torch::Tensor& teacher_NxD, const torch::Tensor& student_NxD);

/// Raw MSE (h_T − h_S)², averaged over tokens and dimensions ("mean") or summed over dimensions
/// and averaged over tokens ("sum_dims").
torch::Tensor raw_mse(const torch::Tensor& teacher_NxD, const torch::Tensor& student_NxD,
                      const std::string& reduction = "mean");

/// The loss of one pair: nmse → normalized_mse (paper, eq. 4), cosine → cosine_distance, mse → raw_mse.
torch::Tensor hidden_pair_loss(config::HiddenLoss loss, const torch::Tensor& teacher_NxD,
                               const torch::Tensor& student_NxD, const std::string& reduction = "mean");

/// The hidden term of several pairs: Σ_p w_p · loss_p(h_T,p, f_reg,p(h_S,p)), with h_S,p =
/// `student_hidden`[pairs[p].student] (B, T, d_S) and h_T,p = teacher.hidden_NxD[p].
/// InputError when the teacher's or the regressor's pair count differs from `pairs`.
torch::Tensor hidden_pairs_loss(const config::ExperimentConfig& cfg, const std::vector<config::ResolvedPair>& pairs,
                                const std::map<int64_t, torch::Tensor>& student_hidden, Regressor& reg,
                                const TeacherSignals& teacher);

}  // namespace hld::objectives
