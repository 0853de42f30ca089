// AdamW with exact, checkpointable state.
#include "hld/train/adamw.h"

#include <cmath>

#include "hld/util/compat.h"
#include "hld/util/error.h"

namespace hld::train {

AdamW::AdamW(std::vector<Param> params, const config::OptimConfig& cfg) : params_(std::move(params)), cfg_(cfg) {
  fused_ = !params_.empty();
  for (const auto& p : params_) {
    exp_avg_.push_back(torch::zeros_like(p.tensor, torch::MemoryFormat::Preserve).detach());
    exp_avg_sq_.push_back(torch::zeros_like(p.tensor, torch::MemoryFormat::Preserve).detach());
    fused_ = fused_ && p.tensor.device() == params_[0].tensor.device() && p.tensor.scalar_type() == torch::kFloat32 &&
             compat::has_fused_adamw(p.tensor.device());
  }
}

void AdamW::fused_step(double lr) {
  if (step_counts_.empty()) {
    for (const auto& p : params_)
      step_counts_.push_back(torch::full({}, static_cast<double>(steps_), p.tensor.options().dtype(torch::kFloat32)));
  } else {
    at::_foreach_add_(step_counts_, 1.0);
  }
  for (const bool decay : {true, false}) {
    std::vector<torch::Tensor> p, g, m, v, n;
    for (size_t i = 0; i < params_.size(); ++i) {
      const auto& grad = params_[i].tensor.grad();
      if (!grad.defined() || params_[i].decay != decay) continue;
      p.push_back(params_[i].tensor), g.push_back(grad), m.push_back(exp_avg_[i]), v.push_back(exp_avg_sq_[i]);
      n.push_back(step_counts_[i]);
    }
    if (!p.empty())
      compat::fused_adamw(p, g, m, v, n, lr, cfg_.beta1, cfg_.beta2, decay ? cfg_.weight_decay : 0.0, cfg_.eps);
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard ng;
  ++steps_;
  if (fused_) return fused_step(lr);
  const double bc1 = 1.0 - std::pow(cfg_.beta1, static_cast<double>(steps_));
  const double bc2 = 1.0 - std::pow(cfg_.beta2, static_cast<double>(steps_));
  const double step_size = lr / bc1;
  const double bc2_sqrt = std::sqrt(bc2);
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i].tensor;
    const auto& g = p.grad();
    if (!g.defined()) continue;
    if (params_[i].decay && cfg_.weight_decay != 0) p.mul_(1.0 - lr * cfg_.weight_decay);
    exp_avg_[i].lerp_(g, 1.0 - cfg_.beta1);
    exp_avg_sq_[i].mul_(cfg_.beta2).addcmul_(g, g, 1.0 - cfg_.beta2);
    auto denom = (exp_avg_sq_[i].sqrt() / bc2_sqrt).add_(cfg_.eps);
    p.addcdiv_(exp_avg_[i], denom, -step_size);
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_)
    if (p.tensor.grad().defined()) p.tensor.mutable_grad() = torch::Tensor();
}

double AdamW::grad_norm() const {
  // Per-tensor norms accumulated in float64 on the device, then one host read (one sync on CUDA).
  std::vector<torch::Tensor> norms;
  for (const auto& p : params_)
    if (p.tensor.grad().defined())
      norms.push_back(at::linalg_vector_norm(p.tensor.grad(), 2, {}, false, torch::kFloat64));
  return norms.empty() ? 0.0 : torch::stack(norms).pow(2).sum().sqrt().item<double>();
}

void AdamW::clip_grad_norm(double max_norm, double norm) {
  if (max_norm <= 0 || norm <= max_norm) return;
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> grads;
  for (auto& p : params_)
    if (p.tensor.grad().defined()) grads.push_back(p.tensor.grad());
  at::_foreach_mul_(grads, max_norm / (norm + 1e-6));
}

std::map<std::string, torch::Tensor> AdamW::state() const {
  std::map<std::string, torch::Tensor> s;
  for (size_t i = 0; i < params_.size(); ++i) {
    s["exp_avg/" + params_[i].name] = exp_avg_[i];
    s["exp_avg_sq/" + params_[i].name] = exp_avg_sq_[i];
  }
  return s;
}

void AdamW::load_state(const std::map<std::string, torch::Tensor>& s, int64_t steps, const std::string& what) {
  torch::NoGradGuard ng;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto* pair : {&exp_avg_, &exp_avg_sq_}) {
      const std::string key = (pair == &exp_avg_ ? "exp_avg/" : "exp_avg_sq/") + params_[i].name;
      auto it = s.find(key);
      HLD_INPUT_CHECK(it != s.end(), what + ": missing optimizer tensor '" + key + "'");
      HLD_INPUT_CHECK(it->second.sizes() == (*pair)[i].sizes(),
                      what + ": optimizer tensor '" + key + "' has the wrong shape");
      (*pair)[i].copy_(it->second);
    }
  }
  HLD_INPUT_CHECK(s.size() == 2 * params_.size(), what + ": optimizer state has tensors for other parameters");
  steps_ = steps;
  step_counts_.clear();  // the fused kernel's per-parameter counts restart from steps_
}

std::vector<AdamW::Param> param_groups(const torch::nn::Module& m, const config::OptimConfig& cfg,
                                       const std::string& prefix) {
  std::vector<AdamW::Param> out;
  for (const auto& p : m.named_parameters()) {
    const std::string& n = p.key();
    const bool is_norm = n.find("norm") != std::string::npos;
    const bool is_embed = n.find("embed_tokens") != std::string::npos;
    const bool decay = cfg.decay_norms_and_embeddings || (!is_norm && !is_embed && p.value().dim() >= 2);
    out.push_back({prefix + n, p.value(), decay});
  }
  return out;
}

}  // namespace hld::train
