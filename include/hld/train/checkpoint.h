// Training checkpoints: RUN/checkpoints/step-XXXXXXXX/ with model.safetensors + model.yaml (a
// loadable model directory), optimizer.safetensors, regressor.safetensors (HLDF phase 1 / HLDC)
// and state.json (loop position, data-stream position, FLOPs, file checksums). Written into a
// .tmp directory, fsynced, then renamed: a crash leaves either the old or the new checkpoint.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "hld/model/transformer.h"
#include "hld/objectives/regressor.h"
#include "hld/train/adamw.h"

namespace hld::train {

struct TrainState {
  int64_t step = 0;         ///< optimizer steps done, all phases
  int phase = 0;            ///< index into the budget plan's phases
  int64_t phase_step = 0;   ///< optimizer steps done in the current phase
  double flops = 0;         ///< FLOPs spent (budget accounting)
  int64_t tokens = 0;       ///< training tokens consumed
  int64_t bad_steps = 0;    ///< non-finite steps skipped so far
  nlohmann::json data;      ///< BatchStream::position()
  std::string fingerprint;  ///< hash of the config sections that must not change on resume
  /// config_identity of the run that wrote the checkpoint (key → value; null in older
  /// checkpoints): what a refused resume names the changed keys against.
  nlohmann::json identity;
  nlohmann::json to_json() const;
  static TrainState from_json(const nlohmann::json& j, const std::string& what);
};

/// Writes a checkpoint for `state` and prunes all but the newest `keep`. Returns its directory.
std::string save_checkpoint(const std::string& run_dir, const TrainState& state, model::Transformer& m,
                            objectives::Regressor* reg, const AdamW& opt, int64_t keep);

/// Reads state.json of a checkpoint directory and verifies every file checksum.
TrainState read_checkpoint_state(const std::string& ckpt_dir);

/// Loads model, regressor (when given) and optimizer state from a checkpoint directory.
void load_checkpoint(const std::string& ckpt_dir, model::Transformer& m, objectives::Regressor* reg, AdamW* opt);

}  // namespace hld::train
