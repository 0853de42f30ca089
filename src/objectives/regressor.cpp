// Hint regressors (linear, MLP, gated MLP), one per hidden pair.
#include "hld/objectives/regressor.h"

#include "hld/budget/costs.h"
#include "hld/config/hidden_pairs.h"

namespace hld::objectives {

PairRegressorImpl::PairRegressorImpl(config::RegressorKind kind, int64_t ds, int64_t dt, double expansion)
    : kind_(kind) {
  auto lin = [](int64_t in, int64_t out) { return torch::nn::LinearOptions(in, out).bias(false); };
  const int64_t hidden = budget::regressor_hidden(ds, expansion);  // the width the budget counts
  switch (kind) {
    case config::RegressorKind::kLinear:
      proj = register_module("proj", torch::nn::Linear(lin(ds, dt)));
      break;
    case config::RegressorKind::kGatedMlp:
      gate = register_module("gate", torch::nn::Linear(lin(ds, hidden)));
      [[fallthrough]];
    case config::RegressorKind::kMlp:
      up = register_module("up", torch::nn::Linear(lin(ds, hidden)));
      down = register_module("down", torch::nn::Linear(lin(hidden, dt)));
      break;
  }
  torch::NoGradGuard ng;
  for (auto& p : parameters()) p.normal_(0.0, 0.02);
}

torch::Tensor PairRegressorImpl::forward(const torch::Tensor& h) {
  switch (kind_) {
    case config::RegressorKind::kLinear:
      return proj(h);
    case config::RegressorKind::kMlp:
      return down(torch::gelu(up(h), "tanh"));
    case config::RegressorKind::kGatedMlp:
      return down(torch::gelu(gate(h), "tanh") * up(h));
  }
  return h;
}

RegressorImpl::RegressorImpl(const std::vector<config::RegressorKind>& kinds, int64_t ds, int64_t dt,
                             double expansion) {
  for (size_t p = 0; p < kinds.size(); ++p)
    pairs_.push_back(register_module("pair" + std::to_string(p), PairRegressor(kinds[p], ds, dt, expansion)));
}

torch::Tensor RegressorImpl::forward_pair(size_t p, const torch::Tensor& h) { return pairs_.at(p)->forward(h); }

Regressor make_regressor(const config::ExperimentConfig& cfg, const config::ModelConfig& teacher) {
  std::vector<config::RegressorKind> kinds;
  for (const auto& p : config::resolve_hidden_pairs(cfg, teacher.num_layers)) kinds.push_back(p.regressor);
  return Regressor(kinds, cfg.model.hidden_size, teacher.hidden_size, cfg.objective.regressor_expansion);
}

}  // namespace hld::objectives
