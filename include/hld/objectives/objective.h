// One place that maps the configured objective (nll, kd, hldc, hldf phase 1/2) to its loss terms:
// the student forward it needs, the teacher signals it consumes, and how the terms combine.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

#include "hld/config/experiment.h"
#include "hld/model/transformer.h"
#include "hld/objectives/regressor.h"

namespace hld::objectives {

/// Teacher signals for a batch, flattened over tokens (N = B·T).
struct TeacherSignals {
  torch::Tensor vals_NxK;    ///< top-k logits before temperature (float32)
  torch::Tensor idx_NxK;     ///< their vocabulary indices (int64)
  torch::Tensor hidden_NxD;  ///< teacher residual stream after the hint layer
};

/// HLDF runs a hint phase (eq. 4) then KD; every other objective has one main phase.
enum class Phase { kMain = 0, kHint = 1 };

struct LossOutput {
  torch::Tensor loss;                           ///< the scalar to differentiate
  std::map<std::string, torch::Tensor> terms;   ///< "nll", "kd", "hidden" (detached scalars)
};

/// What a phase of an objective needs from the teacher.
struct Needs {
  bool teacher_logits = false;
  bool teacher_hidden = false;
};
Needs needs(const config::ExperimentConfig& cfg, Phase phase);

/// The objective's loss on one micro-batch. `reg` is required when the phase uses hidden states.
LossOutput compute_loss(const config::ExperimentConfig& cfg, Phase phase, model::Transformer& student,
                        Regressor* reg, const torch::Tensor& input_BxT, const torch::Tensor& target_BxT,
                        const TeacherSignals* teacher);

}  // namespace hld::objectives
