// Hidden-state distances: cosine and raw MSE next to the paper's normalised MSE.
#include "hld/objectives/hidden_loss.h"

#include "hld/objectives/losses.h"
#include "hld/util/error.h"

namespace hld::objectives {
namespace {

// At least float32 (float64 stays float64 for the finite-difference tests), as losses.cpp does.
torch::Tensor up(const torch::Tensor& x) { return x.to(at::promote_types(x.scalar_type(), torch::kFloat32)); }

}  // namespace

torch::Tensor cosine_distance(const torch::Tensor& t, const torch::Tensor& s) {
  auto tf = up(t), sf = up(s);
  auto tn = tf / tf.norm(2, -1, true).clamp_min(1e-12);
  auto sn = sf / sf.norm(2, -1, true).clamp_min(1e-12);
  return (1.0 - (tn * sn).sum(-1)).mean();
}

torch::Tensor raw_mse(const torch::Tensor& t, const torch::Tensor& s, const std::string& reduction) {
  auto sq = (up(t) - up(s)).pow(2);
  return reduction == "sum_dims" ? sq.sum(-1).mean() : sq.mean();
}

torch::Tensor hidden_pair_loss(config::HiddenLoss loss, const torch::Tensor& t, const torch::Tensor& s,
                               const std::string& reduction) {
  switch (loss) {
    case config::HiddenLoss::kNmse:
      return normalized_mse(t, s, reduction);
    case config::HiddenLoss::kCosine:
      return cosine_distance(t, s);
    case config::HiddenLoss::kMse:
      return raw_mse(t, s, reduction);
  }
  return normalized_mse(t, s, reduction);
}

torch::Tensor hidden_pairs_loss(const config::ExperimentConfig& cfg, const std::vector<config::ResolvedPair>& pairs,
                                const std::map<int64_t, torch::Tensor>& student_hidden, Regressor& reg,
                                const TeacherSignals& teacher) {
  HLD_INPUT_CHECK(teacher.hidden_NxD.size() == pairs.size() && reg->num_pairs() == pairs.size(),
                  "objective.hidden_pairs: " + std::to_string(pairs.size()) + " pairs, but the teacher gave " +
                      std::to_string(teacher.hidden_NxD.size()) + " hidden states and the regressor has " +
                      std::to_string(reg->num_pairs()));
  torch::Tensor total;
  for (size_t p = 0; p < pairs.size(); ++p) {
    const auto& h = student_hidden.at(pairs[p].student);
    auto hs = h.reshape({-1, h.size(-1)});
    auto term = pairs[p].weight * hidden_pair_loss(pairs[p].loss, teacher.hidden_NxD[p], reg->forward_pair(p, hs),
                                                   cfg.objective.hidden_reduction);
    total = total.defined() ? total + term : term;
  }
  return total;
}

}  // namespace hld::objectives
