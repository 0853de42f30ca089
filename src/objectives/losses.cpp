// NLL, top-k KD (the paper's divergence, see divergence.cpp) and normalised hidden-state MSE.
#include "hld/objectives/losses.h"

#include "hld/objectives/divergence.h"

namespace hld::objectives {
namespace {

// Losses are computed in at least float32 (bf16 activations are upcast; float64 stays float64,
// which the finite-difference tests rely on).
torch::Tensor up(const torch::Tensor& x) { return x.to(at::promote_types(x.scalar_type(), torch::kFloat32)); }

}  // namespace

torch::Tensor nll(const torch::Tensor& logits, const torch::Tensor& targets) {
  auto logp = torch::log_softmax(up(logits), -1);
  return -logp.gather(1, targets.unsqueeze(1)).mean();
}

torch::Tensor kd_kl(const torch::Tensor& student_logits, const torch::Tensor& teacher_vals,
                    const torch::Tensor& teacher_idx, double tau) {
  // The paper's divergence (forward KL, renormalised top-k): one definition, in divergence.cpp.
  return kd_divergence(DivergenceSpec{}, student_logits, teacher_vals, teacher_idx, torch::Tensor(), tau);
}

torch::Tensor normalized_mse(const torch::Tensor& t, const torch::Tensor& s, const std::string& reduction) {
  auto tf = up(t), sf = up(s);
  auto tn = tf / tf.norm(2, -1, true).clamp_min(1e-12);
  auto sn = sf / sf.norm(2, -1, true).clamp_min(1e-12);
  auto sq = (tn - sn).pow(2);
  return reduction == "sum_dims" ? sq.sum(-1).mean() : sq.mean();
}

std::pair<torch::Tensor, torch::Tensor> top_k_logits(const torch::Tensor& logits, int64_t k) {
  auto r = logits.topk(k, -1, /*largest=*/true, /*sorted=*/true);
  return {std::get<0>(r).to(torch::kFloat32), std::get<1>(r)};
}

}  // namespace hld::objectives
