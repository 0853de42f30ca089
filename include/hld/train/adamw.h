// AdamW (decoupled weight decay, PyTorch's update order) over named parameter groups, with state
// that checkpoints exactly: per-parameter exp_avg / exp_avg_sq tensors and a step count. On CUDA
// with LibTorch 2.x the update is at::_fused_adamw_ (one launch per group), else per-tensor ops.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "hld/config/experiment.h"

namespace hld::train {

class AdamW {
 public:
  struct Param {
    std::string name;
    torch::Tensor tensor;
    bool decay;  ///< weight decay applies (matrices); not for norms/embeddings by default
  };
  AdamW(std::vector<Param> params, const config::OptimConfig& cfg);

  /// One update with learning rate `lr` from the parameters' .grad(); parameters without a
  /// gradient are left untouched (bitwise).
  void step(double lr);
  void zero_grad();
  /// Global gradient L2 norm (for clipping and logging).
  double grad_norm() const;
  void clip_grad_norm(double max_norm, double norm);

  int64_t steps() const { return steps_; }
  /// "exp_avg/<name>", "exp_avg_sq/<name>" tensors.
  std::map<std::string, torch::Tensor> state() const;
  /// Restores state written by state(); throws InputError when names or shapes differ.
  void load_state(const std::map<std::string, torch::Tensor>& s, int64_t steps, const std::string& what);
  const std::vector<Param>& params() const { return params_; }
  /// True when updates run through the fused kernel (float32 parameters on CUDA, LibTorch ≥ 2).
  bool fused() const { return fused_; }

 private:
  void fused_step(double lr);

  std::vector<Param> params_;
  std::vector<torch::Tensor> exp_avg_, exp_avg_sq_;
  std::vector<torch::Tensor> step_counts_;  ///< the fused kernel's per-parameter step counts
  bool fused_ = false;
  config::OptimConfig cfg_;
  int64_t steps_ = 0;
};

/// Splits a module's parameters into decayed (matrices) and not decayed (norm weights, the
/// embedding unless `decay_norms_and_embeddings`). `prefix` is prepended to names.
std::vector<AdamW::Param> param_groups(const torch::nn::Module& m, const config::OptimConfig& cfg,
                                       const std::string& prefix = "");

}  // namespace hld::train
