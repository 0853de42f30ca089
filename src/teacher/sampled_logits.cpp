// Sampled teacher logits and their unbiased sparse KD estimate.
#include "hld/teacher/sampled_logits.h"

#include "hld/util/error.h"

namespace hld::teacher {

SampledLogits sample_logits(const torch::Tensor& logits_NxV, int64_t k, double tau, torch::Generator gen) {
  HLD_INPUT_CHECK(k >= 1, "objective.top_k = " + std::to_string(k) + ": sampled logits need k >= 1 draws");
  HLD_INPUT_CHECK(tau > 0, "objective.temperature must be positive");
  const auto z = logits_NxV.to(torch::kFloat32);
  SampledLogits s;
  s.logz_N = torch::logsumexp(z / tau, -1);
  const auto p_NxV = torch::softmax(z / tau, -1);
  auto draws = torch::multinomial(p_NxV, k, /*replacement=*/true, gen);
  s.idx_NxK = std::get<0>(draws.sort(-1));
  // A slot opens a run of equal ids when it differs from its left neighbour; its count is the
  // run's length, the run's other slots count 0.
  const auto N = s.idx_NxK.size(0);
  auto first = torch::ones({N, k}, torch::kBool);
  if (k > 1) first.narrow(1, 1, k - 1).copy_(s.idx_NxK.narrow(1, 1, k - 1) != s.idx_NxK.narrow(1, 0, k - 1));
  auto run_id = first.to(torch::kInt64).cumsum(1) - 1;  // which run each slot belongs to
  auto run_len = torch::zeros({N, k}, torch::kFloat32);
  run_len.scatter_add_(1, run_id, torch::ones({N, k}, torch::kFloat32));  // run r's length at position r
  const auto run_len_at_slot = run_len.gather(1, run_id);
  s.counts_NxK = torch::where(first, run_len_at_slot, torch::zeros_like(run_len_at_slot));
  s.vals_NxK = z.gather(1, s.idx_NxK);
  return s;
}

torch::Tensor sampled_kd(const torch::Tensor& student, const SampledLogits& s, double tau) {
  auto up = [](const torch::Tensor& x) { return x.to(at::promote_types(x.scalar_type(), torch::kFloat32)); };
  const auto log_pt = up(s.vals_NxK) / tau - up(s.logz_N).unsqueeze(1);
  const auto log_ps = torch::log_softmax(up(student) / tau, -1).gather(1, s.idx_NxK);
  const auto w = up(s.counts_NxK) / up(s.counts_NxK).sum(-1, true);
  return (w * (log_pt - log_ps)).sum(-1).mean() * (tau * tau);
}

torch::Tensor full_kd(const torch::Tensor& student, const torch::Tensor& teacher, double tau) {
  auto up = [](const torch::Tensor& x) { return x.to(at::promote_types(x.scalar_type(), torch::kFloat32)); };
  const auto log_pt = torch::log_softmax(up(teacher) / tau, -1), log_ps = torch::log_softmax(up(student) / tau, -1);
  return (log_pt.exp() * (log_pt - log_ps)).sum(-1).mean() * (tau * tau);
}

}  // namespace hld::teacher
