// One optimizer step, the only one: micro-batches → teacher signals (online) → loss →
// accumulated backward → all-reduce → gradient norm → clip → AdamW. `train` and `bench` both run
// it, so the speed bench reports is the speed of training and its losses are training's losses.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>

#include "hld/config/experiment.h"
#include "hld/dist/collective.h"
#include "hld/objectives/objective.h"
#include "hld/objectives/regressor.h"
#include "hld/train/adamw.h"
#include "hld/train/prefetcher.h"

namespace hld::teacher {
class TeacherSource;
}

namespace hld::train {

/// What a step needs besides its batches; fixed for one phase.
struct StepContext {
  const config::ExperimentConfig& cfg;
  const spec::PhaseSpec& phase;
  model::Transformer& student;
  objectives::Regressor* reg;       ///< the phase's regressor (null when it has none)
  teacher::TeacherSource* teacher;  ///< signals for batches that arrive without them (online)
  AdamW& opt;
  dist::Collective& coll;
  torch::Device device;
  bool autocast = false;    ///< CUDA bf16 autocast for the forward passes
  int64_t accum = 1;        ///< micro-batches per step
  bool time_parts = false;  ///< synchronise the device to split the step's time
};

struct StepResult {
  std::map<std::string, double> terms;  ///< "loss" and the objective's terms, mean over micro-batches and ranks
  double grad_norm = 0;
  std::string bad;          ///< the first non-finite quantity ("" when the step was applied)
  nlohmann::json position;  ///< the data stream's position after the last micro-batch
  double seconds_forward = 0, seconds_backward = 0, seconds_optimizer = 0;  ///< when time_parts
};

/// Runs one step with learning rate `lr` on `accum` micro-batches from `next`. A step with a
/// non-finite signal, loss or gradient norm (on any rank) is not applied: gradients are zeroed
/// and `bad` names what was not finite.
StepResult train_step(const StepContext& ctx, const std::function<HostBatch()>& next, double lr);

}  // namespace hld::train
