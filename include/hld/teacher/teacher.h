// Where teacher signals come from: the teacher model run online (no gradients), or the offline
// cache. Both produce objectives::TeacherSignals for the rows of a batch.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "hld/config/experiment.h"
#include "hld/model/transformer.h"
#include "hld/objectives/objective.h"

namespace hld::teacher {

class TeacherSource {
 public:
  virtual ~TeacherSource() = default;
  /// Signals for `input_BxT` whose rows are the stream's sequences `seq_ids`.
  virtual objectives::TeacherSignals signals(const torch::Tensor& input_BxT, const std::vector<int64_t>& seq_ids,
                                             const objectives::Needs& needs) = 0;
  virtual const config::ModelConfig& model_config() const = 0;
};

/// Runs the teacher forward in the training step: top-k logits and the hint-layer state.
class OnlineTeacher : public TeacherSource {
 public:
  OnlineTeacher(model::Transformer teacher, int64_t top_k, int64_t hint_layer);
  objectives::TeacherSignals signals(const torch::Tensor& input_BxT, const std::vector<int64_t>& seq_ids,
                                     const objectives::Needs& needs) override;
  const config::ModelConfig& model_config() const override { return teacher_->config(); }
  model::Transformer& model() { return teacher_; }

 private:
  model::Transformer teacher_;
  int64_t top_k_, hint_layer_;
};

/// The teacher's forward for its signals, the one both the online teacher and the cache writer
/// run: the hint-layer state and/or the top-k logits (de-embedded in row chunks, so the (N, V)
/// logits of a whole batch never exist). Stops after the hint layer when no logits are needed.
objectives::TeacherSignals forward_signals(model::Transformer& teacher, const torch::Tensor& input_BxT,
                                           const objectives::Needs& needs, int64_t top_k, int64_t hint_layer);

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
