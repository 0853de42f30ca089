// `hld-train train`: one training run of any objective under the FLOPs budget, resumable from the
// run folder's latest checkpoint, bitwise reproducible on CPU.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "hld/config/experiment.h"
#include "hld/dist/collective.h"
#include "hld/train/checkpoint.h"

namespace hld::train {

struct TrainOptions {
  dist::Collective* collective = nullptr;  ///< data-parallel group (nullptr: one process)
  int64_t stop_after_steps = -1;      ///< checkpoint and stop once this many total steps are done
  bool quiet = false;                 ///< no progress lines
};

struct TrainResult {
  TrainState state;
  bool finished = false;   ///< the whole budget was spent
  double valid_loss = -1;  ///< held-out NLL at the end (-1 without validation data)
  std::string last_checkpoint;
};

/// Runs or resumes `cfg` in cfg.run.dir. Throws InputError for bad configs/data/checkpoints.
TrainResult run_training(const config::ExperimentConfig& cfg, const TrainOptions& opts = {});

}  // namespace hld::train
