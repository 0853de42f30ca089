// `hld-train bench`: times optimizer steps of the configured objective on synthetic tokens (and a
// synthetic cached-teacher signal for KD/HLDC/HLDF), split into forward, loss, backward and
// optimizer, with tokens/s, MFU by the paper's C_data (and with attention FLOPs) and peak memory.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "hld/config/experiment.h"

namespace hld::bench {

struct BenchOptions {
  int64_t steps = 10;   ///< timed optimizer steps
  int64_t warmup = 2;   ///< untimed steps first
  std::string profile;  ///< when set: a Chrome trace of the timed steps is written to this path
};

/// Runs the benchmark and returns its results as JSON (also what `--json` prints).
nlohmann::json run_bench(const config::ExperimentConfig& cfg, const BenchOptions& opts);

/// Human-readable summary of run_bench's JSON.
std::string format_bench(const nlohmann::json& r);

}  // namespace hld::bench
