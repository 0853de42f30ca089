// Objective dispatch: NLL, KD (eq. 2), HLDC (eq. 3), HLDF hint phase (eq. 4) and its KD phase.
#include "hld/objectives/objective.h"

#include "hld/objectives/chunked_lm_loss.h"
#include "hld/objectives/hidden_loss.h"
#include "hld/objectives/losses.h"

namespace hld::objectives {

LossOutput compute_loss(const config::ExperimentConfig& cfg, const PhaseSpec& phase, model::Transformer& student,
                        Regressor* reg, const torch::Tensor& input, const torch::Tensor& target,
                        const TeacherSignals* teacher) {
  const auto& o = cfg.objective;
  const Needs n = phase.needs;
  const int64_t hint = cfg.student_hint_layer();
  const bool several = teacher && !teacher->hidden_pairs_NxD.empty();  // objective.hidden_pairs / hidden_map
  const std::vector<config::ResolvedPair> pairs =
      several ? config::resolve_hidden_pairs(cfg, -1) : std::vector<config::ResolvedPair>();
  model::ForwardOptions fo;
  if (n.teacher_hidden) fo.hidden_layers = {hint};
  if (n.teacher_hidden && several) {
    fo.hidden_layers.clear();
    for (const auto& p : pairs) fo.hidden_layers.push_back(p.student);
  }
  const bool hint_only = phase.loss == Phase::kHint;
  fo.logits = false;  // the de-embedding happens inside chunked_lm_loss
  if (hint_only)
    fo.stop_after = several ? config::deepest_student_layer(cfg) : hint;  // phase 1 runs only the first D_S/2 blocks
  else
    fo.final_normed = true;
  auto out = student->forward(input, fo);
  LossOutput r;
  torch::Tensor hidden_term;
  if (n.teacher_hidden && several) {
    hidden_term = hidden_pairs_loss(cfg, pairs, out.hidden, *reg, *teacher);
    r.terms["hidden"] = hidden_term.detach();
  } else if (n.teacher_hidden) {
    auto h = out.hidden.at(hint);
    auto hs = h.reshape({-1, h.size(-1)});
    hidden_term = normalized_mse(teacher->hidden_NxD, (*reg)(hs), o.hidden_reduction);
    r.terms["hidden"] = hidden_term.detach();
  }
  if (hint_only) {
    r.loss = hidden_term;
    return r;
  }
  const auto& normed = out.final_normed_BxTxD;
  const auto& w = student->embed_tokens->weight;
  auto lm = chunked_lm_loss(normed.reshape({-1, normed.size(-1)}), w, target.reshape({-1}),
                            n.teacher_logits ? teacher->vals_NxK : torch::Tensor(),
                            n.teacher_logits ? teacher->idx_NxK : torch::Tensor(), o.temperature,
                            default_chunk_rows(w.size(0)), divergence_spec(o),  // the KD term's D (divergence.h)
                            n.teacher_logits ? teacher->logz_N : torch::Tensor(),
                            n.teacher_logits ? teacher->counts_NxK : torch::Tensor());  // sampled logits
  auto nll_term = lm.nll;
  r.terms["nll"] = nll_term.detach();
  if (!n.teacher_logits) {
    r.loss = nll_term;
    return r;
  }
  auto kd_term = lm.kd;
  r.terms["kd"] = kd_term.detach();
  r.loss = (1.0 - o.alpha) * nll_term + o.alpha * kd_term;
  if (n.teacher_hidden) r.loss = r.loss + o.gamma * hidden_term;  // HLDC (eq. 3)
  return r;
}

}  // namespace hld::objectives
