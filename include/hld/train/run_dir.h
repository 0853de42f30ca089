// The run folder: resolved config (config.yaml), the config fingerprint that a resumed run must
// match, metrics as JSON Lines (metrics.jsonl), and the measured peak FLOP/s for MFU.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "hld/config/experiment.h"

namespace hld::train {

/// Hash of everything that determines the training trajectory: every section but `run`, plus
/// run.seed. Logging and checkpoint cadence may change between a run and its resumption. With
/// `world` data-parallel ranks, data.batch_size counts as the global batch (batch_size × world)
/// and data.grad_accum is left out, so a run may resume on another world size or micro-batching
/// with the same global batch (2 × 8 as 1 × 16, with or without accumulation).
std::string config_fingerprint(const config::ExperimentConfig& cfg, int world = 1);

/// Appends one JSON object per line; on resume, drops records past the restored step.
class MetricsLog {
 public:
  MetricsLog(const std::string& path, int64_t resume_step);
  ~MetricsLog();
  void write(const nlohmann::json& record);

 private:
  std::FILE* f_ = nullptr;
};

/// Peak FLOP/s of `device` for float32 matrix products, measured once (a few large matmuls) and
/// cached in ~/.cache/hld-train/peak_flops.json per device, dtype and thread count.
double measured_peak_flops(const std::string& device, const std::string& dtype);

}  // namespace hld::train
