// Where teacher signals come from: the teacher model run online (no gradients), or the offline
// cache. Both produce objectives::TeacherSignals for the rows of a batch.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "hld/config/experiment.h"
#include "hld/model/transformer.h"
#include "hld/objectives/objective.h"
#include "hld/teacher/shared_vocab.h"

namespace hld::teacher {

class TeacherSource {
 public:
  virtual ~TeacherSource() = default;
  /// Signals for `input_BxT` whose rows are the stream's sequences `seq_ids`.
  virtual objectives::TeacherSignals signals(const torch::Tensor& input_BxT, const std::vector<int64_t>& seq_ids,
                                             const spec::Needs& needs) = 0;
  virtual const config::ModelConfig& model_config() const = 0;
};

/// What forward_signals computes besides what `needs` asks for.
struct SignalRequest {
  int64_t top_k = 0;                   ///< k of vals_NxK / idx_NxK
  std::vector<int64_t> hidden_layers;  ///< the teacher layer of each hidden_NxD entry (one per hidden pair)
  bool logz = false;                   ///< logz_N = log Σ_v exp(z_v / logz_temperature) per token
  double logz_temperature = 1.0;
  bool bf16_order = false;   ///< top-k by bf16-rounded value, lower id first (cache_top_k)
  bool sampled = false;      ///< teacher.logits: sampled — top_k draws at logz_temperature with counts
  uint64_t sample_seed = 0;  ///< teacher.sample_seed (with each row's sequence id: sampled_logits.h)
  /// A teacher vocabulary beyond the student's (shared_vocab.h): its logits are cut to the shared
  /// ids, and the mass beyond them measured, before anything reads them (null: same vocabulary).
  std::shared_ptr<ExtraVocabMass> extra = nullptr;
};

/// The top-k a cache stores: the k largest logits by their bf16 rounding, equal roundings broken
/// towards the lower id (values float32, ids int64, in that order). It is what truncating a
/// k_max ≥ k cache at load (truncate_top_k) yields, so a cache written at k_max serves k
/// bitwise; it differs from a plain top-k only where logits round to the same bf16 at the k-th.
std::pair<torch::Tensor, torch::Tensor> cache_top_k(const torch::Tensor& logits_NxV, int64_t k);

/// The request of an online teacher of shape `teacher` for `cfg` (the shared-vocabulary rule
/// checked, and a measure of the extra ids' mass when the teacher's vocabulary is larger): objective.top_k, the hint
/// layer, each hidden pair's teacher layer when objective.hidden_pairs / hidden_map is set
/// (InputError naming the key when a pair lies beyond the teacher's depth), the log-sum-exp at
/// objective.temperature for objective.tail = bucket; teacher.logits = sampled: draws (with the
/// log-sum-exp) at objective.temperature.
SignalRequest signal_request(const config::ExperimentConfig& cfg, const config::ModelConfig& teacher);

/// Runs the teacher forward in the training step: top-k logits and the hint-layer state.
class OnlineTeacher : public TeacherSource {
 public:
  OnlineTeacher(model::Transformer teacher, int64_t top_k, int64_t hint_layer);
  OnlineTeacher(model::Transformer teacher, SignalRequest request);
  ~OnlineTeacher() override;  ///< logs the extra-vocabulary mass it measured, if any
  objectives::TeacherSignals signals(const torch::Tensor& input_BxT, const std::vector<int64_t>& seq_ids,
                                     const spec::Needs& needs) override;
  const config::ModelConfig& model_config() const override { return teacher_->config(); }
  model::Transformer& model() { return teacher_; }

 private:
  model::Transformer teacher_;
  SignalRequest req_;
};

/// The teacher's forward for its signals, the one both the online teacher and the cache writer
/// run: the hint-layer state and/or the top-k logits (de-embedded in row chunks, so the (N, V)
/// logits of a whole batch never exist). Stops after the hint layer when no logits are needed.
objectives::TeacherSignals forward_signals(model::Transformer& teacher, const torch::Tensor& input_BxT,
                                           const spec::Needs& needs, int64_t top_k, int64_t hint_layer);
/// The same with req.hidden_layers (hidden_NxD, when needs.teacher_hidden), the
/// full-vocabulary log-sum-exp (logz_N float32, when needs.teacher_logits and req.logz) and, for
/// req.sampled, draws with counts instead of the top-k; `seq_ids` (the rows' sequence ids) seed
/// them (empty: 0, 1, …, as for bench's stand-in batches).
objectives::TeacherSignals forward_signals(model::Transformer& teacher, const torch::Tensor& input_BxT,
                                           const spec::Needs& needs, const SignalRequest& req,
                                           const std::vector<int64_t>& seq_ids = {});

/// Loads the teacher named by cfg.teacher (checkpoint, run folder or Hugging Face dir), checks it
/// against the student (vocabulary, hint layer), and returns the configured source.
/// `parallel_decode`: see make_cache_source.
/// `positions`: see make_cache_source (the trainer passes its plan's).
std::unique_ptr<TeacherSource> make_teacher(const config::ExperimentConfig& cfg, torch::Device device,
                                            bool parallel_decode = true, int64_t positions = -1);

/// The teacher's shape for `cfg` without loading weights (teacher.model, else the checkpoint's
/// model.yaml / config.json).
config::ModelConfig teacher_shape(const config::ExperimentConfig& cfg);

}  // namespace hld::teacher
