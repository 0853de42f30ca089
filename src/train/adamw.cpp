// AdamW with exact, checkpointable state.
#include "hld/train/adamw.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "hld/compat/torch.h"
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

std::vector<AdamW::View> AdamW::views() const {
  std::vector<View> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i].tensor;
    const auto& g = p.grad();
    if (!g.defined()) continue;
    if (!coll_) {
      out.push_back({p, g, i});
      continue;
    }
    const auto& r = plan_.ranges[coll_->rank()][i];
    if (r.count > 0)
      out.push_back({p.view({-1}).narrow(0, r.begin, r.count), g.reshape({-1}).narrow(0, r.begin, r.count), i});
  }
  return out;
}

void AdamW::fused_step(const std::vector<View>& views, double lr) {
  if (step_counts_.empty()) {
    for (const auto& p : params_)
      step_counts_.push_back(torch::full({}, static_cast<double>(steps_), p.tensor.options().dtype(torch::kFloat32)));
  } else {
    at::_foreach_add_(step_counts_, 1.0);
  }
  for (const bool decay : {true, false}) {
    std::vector<torch::Tensor> p, g, m, v, n;
    for (const auto& w : views) {
      if (params_[w.i].decay != decay) continue;
      p.push_back(w.p), g.push_back(w.g), m.push_back(exp_avg_[w.i]), v.push_back(exp_avg_sq_[w.i]);
      n.push_back(step_counts_[w.i]);
    }
    if (!p.empty())
      compat::fused_adamw(p, g, m, v, n, lr, cfg_.beta1, cfg_.beta2, decay ? cfg_.weight_decay : 0.0, cfg_.eps);
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard ng;
  ++steps_;
  const std::vector<View> vs = views();
  if (fused_) {
    fused_step(vs, lr);
  } else {
    const double bc1 = 1.0 - std::pow(cfg_.beta1, static_cast<double>(steps_));
    const double bc2 = 1.0 - std::pow(cfg_.beta2, static_cast<double>(steps_));
    const double step_size = lr / bc1;
    const double bc2_sqrt = std::sqrt(bc2);
    for (const auto& w : vs) {
      auto p = w.p;
      const auto& g = w.g;
      if (params_[w.i].decay && cfg_.weight_decay != 0) p.mul_(1.0 - lr * cfg_.weight_decay);
      exp_avg_[w.i].lerp_(g, 1.0 - cfg_.beta1);
      exp_avg_sq_[w.i].mul_(cfg_.beta2).addcmul_(g, g, 1.0 - cfg_.beta2);
      auto denom = (exp_avg_sq_[w.i].sqrt() / bc2_sqrt).add_(cfg_.eps);
      p.addcdiv_(exp_avg_[w.i], denom, -step_size);
    }
  }
  if (coll_) gather_parameters();
}

void AdamW::shard(dist::Collective& coll) {
  if (coll.world() <= 1 || coll_) return;
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> ts;
  for (const auto& p : params_) ts.push_back(p.tensor);
  plan_ = dist::plan_shards(ts, coll.world(), coll.bucket_bytes());
  coll_ = &coll;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& r = plan_.ranges[coll.rank()][i];
    for (auto* st : {&exp_avg_, &exp_avg_sq_}) (*st)[i] = (*st)[i].reshape({-1}).narrow(0, r.begin, r.count).clone();
  }
  step_counts_.clear();
}

void AdamW::allgather_bucket(size_t b, const std::function<torch::Tensor(size_t)>& mine,
                             const std::function<void(size_t, const dist::SliceRange&, const torch::Tensor&)>& put) {
  const auto& bucket = plan_.buckets[b];
  const auto& piece = plan_.piece[b];
  const int me = coll_->rank();
  const int64_t longest = *std::max_element(piece.begin(), piece.end());
  const auto& p0 = params_[bucket.members.front()].tensor;
  auto mine_N = torch::zeros({longest}, p0.options());
  int64_t off = 0;
  for (size_t i : bucket.members) {
    const auto& r = plan_.ranges[me][i];
    if (r.count == 0) continue;
    mine_N.narrow(0, off, r.count).copy_(mine(i));
    off += r.count;
  }
  const std::vector<torch::Tensor> all = coll_->allgather(mine_N);
  for (int rank = 0; rank < plan_.world; ++rank) {
    int64_t o = 0;
    for (size_t i : bucket.members) {
      const auto& r = plan_.ranges[rank][i];
      if (r.count == 0) continue;
      put(i, r, all[rank].narrow(0, o, r.count));
      o += r.count;
    }
  }
}

void AdamW::gather_parameters() {
  const int me = coll_->rank();
  for (size_t b = 0; b < plan_.buckets.size(); ++b)
    allgather_bucket(
        b,
        [&](size_t i) {
          const auto& r = plan_.ranges[me][i];
          return params_[i].tensor.view({-1}).narrow(0, r.begin, r.count);
        },
        [&](size_t i, const dist::SliceRange& r, const torch::Tensor& v) {
          auto dst = params_[i].tensor.view({-1}).narrow(0, r.begin, r.count);
          if (dst.data_ptr() != v.data_ptr()) dst.copy_(v);
        });
}

void AdamW::gather_state() {
  if (!coll_) return;
  torch::NoGradGuard ng;
  gathered_.clear();
  for (auto* st : {&exp_avg_, &exp_avg_sq_}) {
    const std::string kind = st == &exp_avg_ ? "exp_avg/" : "exp_avg_sq/";
    // Only rank 0 writes checkpoints: it alone assembles the full tensors, in host memory (the
    // device keeps only its slices; the transfer goes bucket by bucket).
    const bool keep = coll_->rank() == 0;
    std::vector<torch::Tensor> full(params_.size());
    if (keep)
      for (size_t i = 0; i < params_.size(); ++i)
        full[i] = torch::empty(params_[i].tensor.sizes(), params_[i].tensor.options().device(torch::kCPU));
    for (size_t b = 0; b < plan_.buckets.size(); ++b)
      allgather_bucket(
          b, [&](size_t i) { return (*st)[i]; },
          [&](size_t i, const dist::SliceRange& r, const torch::Tensor& v) {
            if (keep) full[i].view({-1}).narrow(0, r.begin, r.count).copy_(v);
          });
    if (keep)
      for (size_t i = 0; i < params_.size(); ++i) gathered_[kind + params_[i].name] = full[i];
  }
}

int64_t AdamW::state_bytes() const {
  int64_t n = 0;
  for (const auto* st : {&exp_avg_, &exp_avg_sq_})
    for (const auto& t : *st) n += t.numel() * static_cast<int64_t>(t.element_size());
  return n;
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
  if (coll_) {
    if (gathered_.empty() && !params_.empty() && coll_->rank() == 0)
      throw std::logic_error("[AdamW::state] ZeRO-1 state is sharded: call gather_state() on every rank first");
    return gathered_;
  }
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
      HLD_INPUT_CHECK(it->second.sizes() == params_[i].tensor.sizes(),
                      what + ": optimizer tensor '" + key + "' has the wrong shape");
      if (coll_) {  // ZeRO-1: this rank's slice of the full tensor
        const auto& r = plan_.ranges[coll_->rank()][i];
        (*pair)[i].copy_(it->second.reshape({-1}).narrow(0, r.begin, r.count));
      } else {
        (*pair)[i].copy_(it->second);
      }
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
