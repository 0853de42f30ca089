// Up-front resource checks of a training run: the memory one process will need on its device
// (weights, gradients, AdamW moments, activations kept for backward, logits, an online teacher)
// and the disk its checkpoints will take, against what the device and the run folder's
// filesystem have. A run that cannot fit is refused before any work with both figures and the
// config keys to change; `run.check_resources: false` turns the refusal off.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "hld/config/experiment.h"

namespace hld::train {

/// Estimated peak memory of one training process, by part, in bytes.
struct MemoryEstimate {
  double weights = 0;      ///< student (+ regressor) parameters, float32 master copy
  double optimizer = 0;    ///< gradients + AdamW moments (3 × float32)
  double activations = 0;  ///< tensors kept for backward over one micro-batch
  double logits = 0;       ///< logits, probabilities and their gradient of one loss chunk
  double teacher = 0;      ///< an online teacher's weights and its forward's logits
  /// Held-out loss (between steps, no gradients): one block's transient tensors and one loss chunk
  /// on top of weights and optimizer state, instead of the step's activations and logits.
  double validation = 0;
  double step() const { return activations + logits + teacher; }
  double total() const { return weights + optimizer + std::max(step(), validation); }
  /// "weights 1.2 GiB + optimizer ... = total".
  std::string describe() const;
};

/// The estimate for `cfg` with a teacher of shape `teacher` (when the objective needs one).
/// `fused_attention`: no [T, T] score matrices are kept (SDPA on LibTorch 2.x / CUDA).
MemoryEstimate estimate_training_memory(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher,
                                        bool fused_attention);

/// Bytes of one checkpoint of `cfg` (model + optimizer + regressor).
double checkpoint_bytes(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher);

/// Memory a process may use on the host: MemAvailable, bounded by the cgroup's limit.
uint64_t host_memory_available();

/// InputError when the estimate exceeds `limit_bytes` (`where` names the device) or when the run
/// folder's filesystem lacks room for the checkpoints still to be written; no-op when
/// cfg.run.check_resources is false. `processes` sharing the limit (local ranks on one host's
/// memory) divide it.
void check_training_resources(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher,
                              bool fused_attention, uint64_t limit_bytes, const std::string& where, int processes = 1);

}  // namespace hld::train
