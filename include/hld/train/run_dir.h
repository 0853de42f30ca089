// The run folder: resolved config (config.yaml), the config fingerprint that a resumed run must
// match, metrics as JSON Lines (metrics.jsonl), and the measured peak FLOP/s for MFU.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <string>

#include "hld/config/experiment.h"

namespace hld::train {

/// What determines the training trajectory, as key path → value of the complete config (every
/// default written out): every section but `run` and `eval`, plus run.seed. Logging, checkpoint
/// and evaluation cadence may change between a run and its resumption. With `world`
/// data-parallel ranks, data.batch_size counts as the global batch (batch_size × world) and
/// data.grad_accum / data.prefetch are left out, so a run may resume on another world size or
/// micro-batching with the same global batch (2 × 8 as 1 × 16, with or without accumulation).
std::map<std::string, std::string> config_identity(const config::ExperimentConfig& cfg, int world = 1);

/// Hash of config_identity ("v2:" + 16 hex digits): what a checkpoint records and a resume matches.
std::string config_fingerprint(const config::ExperimentConfig& cfg, int world = 1);

/// The fingerprint older versions recorded (the YAML as given, defaults left out): run folders
/// written before complete configs still resume when it matches.
std::string legacy_config_fingerprint(const config::ExperimentConfig& cfg, int world = 1);

/// "optimizer.lr: 0.0004 -> 0.001; ..." for every key whose value differs ("" when none does).
std::string describe_changes(const std::map<std::string, std::string>& stored,
                             const std::map<std::string, std::string>& now);

/// Appends one JSON object per line; on resume, drops records past the restored step (and a torn
/// last line), so the file holds one record per step as an uninterrupted run's would.
class MetricsLog {
 public:
  MetricsLog(const std::string& path, int64_t resume_step);
  ~MetricsLog();
  /// Appends and flushes `record`; std::runtime_error naming the file when that fails (full disk).
  void write(const nlohmann::json& record);

 private:
  std::FILE* f_ = nullptr;
  std::string path_;
};

/// Peak FLOP/s of `device` for matrix products in `dtype` ("float32" or "bfloat16": the peak an
/// MFU of a run in that dtype is measured against), measured once (a few large matmuls) and cached
/// in ~/.cache/hld-train/peak_flops.json per device, dtype, thread count and LibTorch version.
double measured_peak_flops(const std::string& device, const std::string& dtype);

}  // namespace hld::train
