// Sampled teacher logits: counter-based uniforms, inverse-CDF draws with counts, and the unbiased
// sparse KD estimate.
#include "hld/teacher/sampled_logits.h"

#include <ATen/Parallel.h>

#include <algorithm>

#include "hld/util/error.h"

namespace hld::teacher {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

torch::Tensor draw_uniforms(uint64_t seed, const std::vector<int64_t>& seq_ids, int64_t T, int64_t k) {
  const int64_t B = static_cast<int64_t>(seq_ids.size());
  auto u = torch::empty({B * T, k}, torch::kFloat64);
  double* p = u.data_ptr<double>();
  at::parallel_for(0, B * T, 256, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const uint64_t seq = static_cast<uint64_t>(seq_ids[static_cast<size_t>(n / T)]);
      const uint64_t base = splitmix64(splitmix64(seed) ^ splitmix64(seq ^ 0x5eedULL)) +
                            static_cast<uint64_t>(n % T) * static_cast<uint64_t>(k);
      double* row = p + n * k;
      for (int64_t j = 0; j < k; ++j)
        row[j] = static_cast<double>(splitmix64(base + static_cast<uint64_t>(j)) >> 11) * 0x1.0p-53;
      std::sort(row, row + k);
    }
  });
  return u;
}

torch::Tensor run_counts(const torch::Tensor& idx) {
  // A slot opens a run of equal ids when it differs from its left neighbour; its count is the
  // run's length, the run's other slots count 0.
  const auto N = idx.size(0), k = idx.size(1);
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(idx.device());
  auto first = torch::ones({N, k}, opts.dtype(torch::kBool));
  if (k > 1) first.narrow(1, 1, k - 1).copy_(idx.narrow(1, 1, k - 1) != idx.narrow(1, 0, k - 1));
  auto run_id = first.to(torch::kInt64).cumsum(1) - 1;  // which run each slot belongs to
  auto run_len = torch::zeros({N, k}, opts);
  run_len.scatter_add_(1, run_id, torch::ones({N, k}, opts));  // run r's length at position r
  const auto at_slot = run_len.gather(1, run_id);
  return torch::where(first, at_slot, torch::zeros_like(at_slot));
}

SampledLogits sample_logits(const torch::Tensor& logits, const torch::Tensor& uniforms, double tau) {
  HLD_INPUT_CHECK(tau > 0, "objective.temperature must be positive");
  TORCH_CHECK(logits.dim() == 2 && uniforms.dim() == 2 && uniforms.size(0) == logits.size(0),
              "sample_logits: logits (N, V) and uniforms (N, K)");
  const int64_t N = logits.size(0), V = logits.size(1), K = uniforms.size(1);
  const auto z = logits.to(torch::kFloat32);
  SampledLogits s;
  s.logz_N = torch::logsumexp(z / tau, -1);
  s.idx_NxK = torch::empty({N, K}, z.options().dtype(torch::kInt64));
  const int64_t rows = std::max<int64_t>(1, (int64_t{64} << 20) / (8 * std::max<int64_t>(1, V)));  // ~64 MiB of cdf
  for (int64_t r0 = 0; r0 < N; r0 += rows) {
    const int64_t n = std::min(rows, N - r0);
    const auto cdf = torch::softmax(z.narrow(0, r0, n).to(torch::kFloat64) / tau, -1).cumsum(-1);  // (n, V)
    const auto u = uniforms.narrow(0, r0, n).to(cdf.device(), torch::kFloat64) * cdf.narrow(1, V - 1, 1);
    s.idx_NxK.narrow(0, r0, n).copy_(torch::searchsorted(cdf, u, /*out_int32=*/false, /*right=*/true).clamp_max(V - 1));
  }
  s.counts_NxK = run_counts(s.idx_NxK);
  s.vals_NxK = z.gather(1, s.idx_NxK);
  return s;
}

SampledLogits sample_logits(const torch::Tensor& logits, int64_t k, double tau, torch::Generator gen) {
  HLD_INPUT_CHECK(k >= 1, "objective.top_k = " + std::to_string(k) + ": sampled logits need k >= 1 draws");
  auto u = std::get<0>(torch::rand({logits.size(0), k}, gen, torch::kFloat64).sort(-1));
  return sample_logits(logits, u, tau);
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
