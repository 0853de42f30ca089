// The hint regressors of a config's hidden-layer pairs and what each adds per token (issue 20):
// the per-pair lines `hld-train flops` prints. C_HLDC and C_HT (costs.h) count their sum.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "hld/config/experiment.h"

namespace hld::budget {

struct PairCost {
  int64_t student = 0, teacher = 0;  ///< 1-based block counts (teacher -1: unknown depth)
  double weight = 1.0;
  config::HiddenLoss loss = config::HiddenLoss::kNmse;
  config::RegressorKind regressor = config::RegressorKind::kLinear;
  int64_t params = 0;  ///< N_reg of this pair's regressor
  int64_t flops = 0;   ///< 6·N_reg per token (trained: forward + backward)
};

/// One entry per hidden pair of `c` for objective `which` (its default regressor), with a teacher
/// of shape `teacher` (d_T; null: c.teacher.model; empty result when neither is known).
std::vector<PairCost> pair_costs(const config::ExperimentConfig& c, config::Objective which,
                                 const config::ModelConfig* teacher = nullptr);

/// "hidden pairs (hldc): 2, regressors 6·ΣN_reg = … FLOPs/token\n  pair 0: student 1 ↔ teacher 2 …\n".
std::string format_pair_costs(const std::vector<PairCost>& pairs, config::Objective which);
nlohmann::json to_json(const std::vector<PairCost>& pairs);

}  // namespace hld::budget
