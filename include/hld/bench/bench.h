// `hld-train bench`: times training's own optimizer steps (the same loop, models and step as
// `train`, without a run folder) on the config's data and teacher, or on one random batch and a
// random teacher of the configured shape when the config has no data; split into forward+loss,
// backward and optimizer, with tokens/s, MFU by the paper's C_data (and with attention FLOPs),
// peak memory, and the loss of the last timed step (equal to train's at that step).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "hld/config/experiment.h"

namespace hld::bench {

struct BenchOptions {
  int64_t steps = 10;   ///< timed optimizer steps
  int64_t warmup = 2;   ///< untimed steps first
  std::string profile;  ///< when set: a Chrome trace of the timed steps is written to this path
  int phase = 0;        ///< the budget plan's phase to start at (HLDF: 1 benches its KD phase)
};

/// Runs the benchmark and returns its results as JSON (also what `--json` prints).
nlohmann::json run_bench(const config::ExperimentConfig& cfg, const BenchOptions& opts);

/// Human-readable summary of run_bench's JSON.
std::string format_bench(const nlohmann::json& r);

}  // namespace hld::bench
