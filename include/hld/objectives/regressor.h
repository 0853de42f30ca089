// The hint regressors f_reg,p mapping student hidden states (d_S) to the teacher's width (d_T), one
// per hidden pair (config/hidden_pairs.h; the paper's single pair is a list of one): linear W_R
// (HLDC), a one-hidden-layer MLP with expansion e·d_S (HLDF, the paper's choice), or a gated MLP.
// No biases, like the student's own projections. Parameters are named "pair<p>.<layer>.weight";
// checkpoints written before pairs existed name pair 0's without the prefix (train/checkpoint.cpp
// maps them on load).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "hld/config/experiment.h"

namespace hld::objectives {

/// One pair's regressor d_S → d_T.
class PairRegressorImpl : public torch::nn::Module {
 public:
  PairRegressorImpl(config::RegressorKind kind, int64_t d_student, int64_t d_teacher, double expansion);
  torch::Tensor forward(const torch::Tensor& h_NxDs);

 private:
  config::RegressorKind kind_;
  torch::nn::Linear proj{nullptr}, up{nullptr}, gate{nullptr}, down{nullptr};
};
TORCH_MODULE(PairRegressor);

/// The regressors of every hidden pair: sub-modules "pair0", "pair1", … in pair order.
class RegressorImpl : public torch::nn::Module {
 public:
  RegressorImpl(const std::vector<config::RegressorKind>& kinds, int64_t d_student, int64_t d_teacher,
                double expansion);
  /// Pair p's regressor applied to (N, d_S) states.
  torch::Tensor forward_pair(size_t p, const torch::Tensor& h_NxDs);
  size_t num_pairs() const { return pairs_.size(); }

 private:
  std::vector<PairRegressor> pairs_;
};
TORCH_MODULE(Regressor);

/// The regressors of `cfg`'s hidden pairs for a teacher of shape `teacher`: one per pair, each of
/// its resolved kind, d_S → d_T.
Regressor make_regressor(const config::ExperimentConfig& cfg, const config::ModelConfig& teacher);

}  // namespace hld::objectives
