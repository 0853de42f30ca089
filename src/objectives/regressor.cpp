// Hint regressors (linear, MLP, gated MLP).
#include "hld/objectives/regressor.h"

#include "hld/budget/costs.h"

#include <cmath>

namespace hld::objectives {

RegressorImpl::RegressorImpl(config::RegressorKind kind, int64_t ds, int64_t dt, double expansion) : kind_(kind) {
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

torch::Tensor RegressorImpl::forward(const torch::Tensor& h) {
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

int64_t RegressorImpl::num_params() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace hld::objectives
