// AdamW (decoupled weight decay, PyTorch's update order) over named parameter groups, with state
// that checkpoints exactly: per-parameter exp_avg / exp_avg_sq tensors and a step count.
// On CUDA the update is at::_fused_adamw_ (one launch per group), on CPU per-tensor ops.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hld/config/experiment.h"
#include "hld/dist/collective.h"
#include "hld/dist/shard_plan.h"

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
  /// "exp_avg/<name>", "exp_avg_sq/<name>" tensors of the parameters' full shapes. Sharded
  /// (ZeRO-1): the state gather_state() collected (std::logic_error without it).
  std::map<std::string, torch::Tensor> state() const;
  /// Restores state written by state() (full shapes, from any world size; sharded, each rank
  /// keeps its slices); throws InputError when names or shapes differ.
  void load_state(const std::map<std::string, torch::Tensor>& s, int64_t steps, const std::string& what);

  /// ZeRO-1 over `coll`: from now on this rank keeps the moments of its slices only
  /// (dist::plan_shards over this optimizer's parameters, in order), step() updates those
  /// slices and all-gathers the parameters. Gradients stay whole (all-reduced by the step), so
  /// the gradient norm, clipping and every updated value are bitwise those of the unsharded
  /// optimizer. A no-op for one process. Call it after load_state of a full checkpoint.
  void shard(dist::Collective& coll);
  bool sharded() const { return coll_ != nullptr; }
  /// Collective (every rank calls it): gathers the full moments for state() / a checkpoint.
  void gather_state();
  /// Frees what gather_state() collected.
  void drop_gathered_state() { gathered_.clear(); }
  /// Bytes of optimizer state this rank holds (the moments; measured from the tensors).
  int64_t state_bytes() const;
  const std::vector<Param>& params() const { return params_; }
  /// True when updates run through the fused kernel (float32 parameters on CUDA).
  bool fused() const { return fused_; }

 private:
  /// A parameter (or this rank's slice of it) and its gradient, as one update sees them.
  struct View {
    torch::Tensor p, g;
    size_t i;  ///< index into params_
  };
  std::vector<View> views() const;
  void fused_step(const std::vector<View>& v, double lr);
  void gather_parameters();
  /// All-gathers bucket `b`: `mine(i)` is this rank's slice (1-D) of parameter i's quantity;
  /// `put(i, range, values)` receives every rank's slice of it.
  void allgather_bucket(size_t b, const std::function<torch::Tensor(size_t)>& mine,
                        const std::function<void(size_t, const dist::SliceRange&, const torch::Tensor&)>& put);

  std::vector<Param> params_;
  std::vector<torch::Tensor> exp_avg_, exp_avg_sq_;
  std::vector<torch::Tensor> step_counts_;  ///< the fused kernel's per-parameter step counts
  bool fused_ = false;
  config::OptimConfig cfg_;
  int64_t steps_ = 0;
  dist::Collective* coll_ = nullptr;  ///< ZeRO-1 group (null: unsharded)
  dist::ShardPlan plan_;
  std::map<std::string, torch::Tensor> gathered_;  ///< full state collected by gather_state()
};

/// Splits a module's parameters into decayed (matrices) and not decayed (norm weights, the
/// embedding unless `decay_norms_and_embeddings`). `prefix` is prepended to names.
std::vector<AdamW::Param> param_groups(const torch::nn::Module& m, const config::OptimConfig& cfg,
                                       const std::string& prefix = "");

}  // namespace hld::train
