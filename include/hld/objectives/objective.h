// The objectives' losses (their phases are declared in spec/objective.h): the student forward a
// phase needs, the teacher signals it consumes, and how the terms combine.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "hld/config/experiment.h"
#include "hld/model/transformer.h"
#include "hld/objectives/regressor.h"
#include "hld/spec/objective.h"

namespace hld::objectives {

/// Teacher signals for a batch, flattened over tokens (N = B·T).
struct TeacherSignals {
  torch::Tensor vals_NxK;                 ///< top-k logits before temperature (float32)
  torch::Tensor idx_NxK;                  ///< their vocabulary indices (int64)
  std::vector<torch::Tensor> hidden_NxD;  ///< teacher residual stream of each hidden pair's layer, in pair order
  torch::Tensor logz_N;      ///< full-vocabulary log-sum-exp of the teacher logits (tail: bucket); may be undefined
  torch::Tensor counts_NxK;  ///< teacher.logits: sampled — draw counts of idx_NxK (float32); undefined for top-k
};

struct LossOutput {
  torch::Tensor loss;                          ///< the scalar to differentiate
  std::map<std::string, torch::Tensor> terms;  ///< "nll", "kd", "hidden" (detached scalars)
};

/// The loss of one phase (spec::of(cfg.objective.name).phases[i]) on one micro-batch.
/// `reg` is required when the phase uses hidden states.
LossOutput compute_loss(const config::ExperimentConfig& cfg, const spec::PhaseSpec& phase, model::Transformer& student,
                        Regressor* reg, const torch::Tensor& input_BxT, const torch::Tensor& target_BxT,
                        const TeacherSignals* teacher);

}  // namespace hld::objectives
