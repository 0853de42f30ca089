// The hint regressor f_reg mapping student hidden states (d_S) to the teacher's width (d_T):
// linear W_R (HLDC), a one-hidden-layer MLP with expansion e·d_S (HLDF, the paper's choice), or a
// gated MLP. No biases, like the student's own projections.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "hld/config/experiment.h"

namespace hld::objectives {

class RegressorImpl : public torch::nn::Module {
 public:
  RegressorImpl(config::RegressorKind kind, int64_t d_student, int64_t d_teacher, double expansion);
  /// One regressor per hidden-layer pair (objective.hidden_pairs). A single kind is exactly the
  /// one-pair regressor above (same parameter names: old checkpoints load); several register
  /// sub-modules "pair0", "pair1", … (parameters "pair0.proj.weight", …).
  RegressorImpl(const std::vector<config::RegressorKind>& kinds, int64_t d_student, int64_t d_teacher,
                double expansion);
  /// The single pair's regressor (pair 0 when there are several).
  torch::Tensor forward(const torch::Tensor& h_NxDs);
  /// Pair p's regressor.
  torch::Tensor forward_pair(size_t p, const torch::Tensor& h_NxDs);
  /// Number of pairs it serves (≥ 1).
  size_t num_pairs() const { return pairs_.empty() ? 1 : pairs_.size(); }
  int64_t num_params() const;

 private:
  void build(int64_t d_student, int64_t d_teacher, double expansion);
  config::RegressorKind kind_;
  torch::nn::Linear proj{nullptr}, up{nullptr}, gate{nullptr}, down{nullptr};
  std::vector<std::shared_ptr<RegressorImpl>> pairs_;  // several pairs: one regressor each
};
TORCH_MODULE(Regressor);

/// The regressor(s) of `cfg`'s hidden pairs (objectives/hidden_pairs.h) for a teacher of shape
/// `teacher`: one per pair, each of its resolved kind, d_S → d_T.
Regressor make_regressor(const config::ExperimentConfig& cfg, const config::ModelConfig& teacher);

}  // namespace hld::objectives
