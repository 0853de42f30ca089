// The optimizer step shared by `train` and `bench` (see hld/train/step.h).
#include "hld/train/step.h"

#include <chrono>
#include <cmath>

#include "hld/runtime/runtime.h"
#include "hld/teacher/teacher.h"
#include "hld/compat/torch.h"

namespace hld::train {
namespace {

using Clock = std::chrono::steady_clock;

// The first teacher signal with a NaN/Inf ("" when all are finite): a corrupt teacher or cache
// should be named as such, not discovered as a non-finite student loss.
std::string first_nonfinite_signal(const objectives::TeacherSignals& s) {
  if (s.vals_NxK.defined() && !torch::isfinite(s.vals_NxK).all().item<bool>()) return "teacher top-k logits";
  for (size_t i = 0; i < s.hidden_NxD.size(); ++i)
    if (!torch::isfinite(s.hidden_NxD[i]).all().item<bool>())
      return s.hidden_NxD.size() == 1 ? "teacher hidden states"
                                      : "teacher hidden states of hidden pair " + std::to_string(i);
  if (s.logz_N.defined() && !torch::isfinite(s.logz_N).all().item<bool>()) return "teacher log-sum-exp";
  return "";
}

std::string first_nonfinite(const objectives::LossOutput& out) {
  for (const auto& [name, t] : out.terms)
    if (!std::isfinite(t.item<double>())) return "train/" + name;
  return std::isfinite(out.loss.item<double>()) ? "" : "train/loss";
}

}  // namespace

StepResult train_step(const StepContext& c, const std::function<HostBatch()>& next, double lr) {
  StepResult r;
  const bool uses_teacher = c.phase.needs.any();
  auto mark = [&] {
    if (c.time_parts && c.device.is_cuda()) runtime::cuda_synchronize(c.device.index());
    return Clock::now();
  };
  auto secs = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  c.opt.zero_grad();
  for (int64_t a = 0; a < c.accum; ++a) {
    const HostBatch hb = next();
    const auto t0 = mark();
    DeviceBatch b = to_device(hb, c.device);
    auto& sig = b.signals;
    objectives::LossOutput out;
    {
      compat::AutocastGuard ac(c.device, c.autocast);  // forward passes only; backward follows their dtypes
      if (c.teacher && !hb.has_signals) sig = c.teacher->signals(b.input_BxT, hb.seq_ids, c.phase.needs);
      out = objectives::compute_loss(c.cfg, c.phase, c.student, c.reg, b.input_BxT, b.target_BxT,
                                     uses_teacher ? &sig : nullptr);
    }
    const auto t1 = mark();
    r.position = hb.position;
    if (r.bad.empty() && uses_teacher) r.bad = first_nonfinite_signal(sig);
    if (r.bad.empty()) r.bad = first_nonfinite(out);
    (out.loss / static_cast<double>(c.accum)).backward();
    const auto t2 = mark();
    r.seconds_forward += secs(t0, t1);
    r.seconds_backward += secs(t1, t2);
    r.terms["loss"] += out.loss.item<double>() / static_cast<double>(c.accum);
    for (const auto& [k, v] : out.terms) r.terms[k] += v.item<double>() / static_cast<double>(c.accum);
  }
  const auto t3 = mark();
  const int world = c.coll.world();
  if (world > 1) {
    std::vector<torch::Tensor> grads;
    for (const auto& p : c.opt.params())
      if (p.tensor.grad().defined()) grads.push_back(p.tensor.grad());
    c.coll.allreduce_mean(grads);
    for (auto& [k, v] : r.terms) v = c.coll.allreduce_sum(v) / world;
    if (c.coll.allreduce_sum(r.bad.empty() ? 0.0 : 1.0) > 0 && r.bad.empty()) r.bad = "a peer rank's loss";
  }
  r.grad_norm = c.opt.grad_norm();
  if (r.bad.empty() && !std::isfinite(r.grad_norm)) r.bad = "gradient norm";
  if (!r.bad.empty()) {
    c.opt.zero_grad();
    return r;
  }
  c.opt.clip_grad_norm(c.cfg.optimizer.grad_clip, r.grad_norm);
  c.opt.step(lr);
  r.seconds_optimizer = secs(t3, mark());
  return r;
}

}  // namespace hld::train
