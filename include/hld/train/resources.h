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
#include <vector>

#include <nlohmann/json.hpp>

#include "hld/config/experiment.h"

namespace hld::train {

/// Estimated peak memory of one training process (one rank), by part, in bytes.
struct MemoryEstimate {
  std::string phase;     ///< the objective's phase it is for: the one that holds the most
  double weights = 0;    ///< student (+ regressor) parameters, float32 master copy
  double optimizer = 0;  ///< gradients + AdamW moments held by this rank (= gradients + moments)
  double gradients = 0;  ///< float32 gradients (whole on every rank, ZeRO-1 included)
  double moments = 0;    ///< AdamW's two float32 moments: all of them, or 1/W under ZeRO-1
  int world = 1;         ///< data-parallel ranks the estimate is for
  int64_t zero = 0;      ///< run.zero it assumes
  config::ActivationCheckpointing checkpointing = config::ActivationCheckpointing::kNone;  ///< and the mode
  int64_t checkpointing_k = 1;                                                             ///< every_k's k
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

/// The estimate for `cfg` (its run.zero and run.activation_checkpointing) on one of `world`
/// ranks, with a teacher of shape `teacher` (when the objective needs one): of each phase of the
/// objective (spec/objective.h) from what it holds — the parameters it trains (gradients, a fresh
/// AdamW's moments), the blocks it runs, the logits it computes, the teacher signals it asks for —
/// the largest.
/// `fused_attention`: no [T, T] score matrices are kept (SDPA on CUDA).
/// Activation checkpointing keeps a checkpointed block's input only (d values per token), plus one
/// block's full set while it is recomputed in backward.
MemoryEstimate estimate_training_memory(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher,
                                        bool fused_attention, int world = 1);

/// The estimate of the configured run and of its alternatives (run.zero 0/1 × activation
/// checkpointing none/blocks, and every_k when configured), the configured one first: what
/// `flops` prints and what the resource check names when the configured run does not fit.
std::vector<MemoryEstimate> memory_alternatives(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher,
                                                bool fused_attention, int world);

/// "run.zero=1, run.activation_checkpointing=blocks" for an estimate's settings.
std::string describe_settings(const MemoryEstimate& e);

/// A few lines: per-rank totals of `alts` (memory_alternatives), each with its settings, marking
/// those above `limit_bytes` (0: no limit known).
std::string describe_alternatives(const std::vector<MemoryEstimate>& alts, double limit_bytes);

/// The estimate as JSON (every part, the settings and the total).
nlohmann::json to_json(const MemoryEstimate& e);

/// Bytes of one checkpoint of `cfg` (model + optimizer + regressor).
double checkpoint_bytes(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher);

/// Memory a process may use on the host: MemAvailable, bounded by the cgroup's limit.
uint64_t host_memory_available();

/// InputError when the estimate exceeds `limit_bytes` (`where` names the device) or when the run
/// folder's filesystem lacks room for the checkpoints still to be written; no-op when
/// cfg.run.check_resources is false. `processes` sharing the limit (local ranks on one host's
/// memory) divide it.
/// `world`: data-parallel ranks (ZeRO-1 divides the moments by it). The refusal lists the
/// per-rank memory with and without ZeRO-1 and activation checkpointing; nothing is switched on
/// silently.
void check_training_resources(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher,
                              bool fused_attention, uint64_t limit_bytes, const std::string& where, int processes = 1,
                              int world = 1);

/// The up-front check of a training run on `device` ("cpu", "cuda:1"): its free memory (the GPU's,
/// or the host's shared by this host's ranks), the per-rank estimate with its alternatives logged
/// when `log`, then check_training_resources.
void check_run_resources(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher,
                         const std::string& device, int world, bool log);

}  // namespace hld::train
