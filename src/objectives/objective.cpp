// Objective dispatch: NLL, KD (eq. 2), HLDC (eq. 3), HLDF hint phase (eq. 4) and its KD phase, and
// whatever else spec/objective.h composes from these terms.
#include "hld/objectives/objective.h"

#include <algorithm>

#include "hld/config/hidden_pairs.h"
#include "hld/objectives/chunked_lm_loss.h"
#include "hld/objectives/hidden_loss.h"

namespace hld::objectives {
namespace {

// The hidden term as it enters a main phase's loss (spec::HiddenWeighting).
torch::Tensor weighted_hidden(const config::ObjectiveConfig& o, spec::HiddenWeighting w, const torch::Tensor& hidden,
                              const torch::Tensor& kd) {
  switch (w) {
    case spec::HiddenWeighting::kGamma:
      return o.gamma * hidden;  // eq. 3
    case spec::HiddenWeighting::kBalanced:
      // H · sg(KD / H): the value of the KD term, the gradient direction of H (NVIDIA ModelOpt's
      // logits/intermediates balancing); a zero H contributes nothing.
      return o.gamma * hidden * (kd.detach() / hidden.detach().clamp_min(1e-12));
  }
  return o.gamma * hidden;
}

}  // namespace

LossOutput compute_loss(const config::ExperimentConfig& cfg, const spec::PhaseSpec& phase, model::Transformer& student,
                        Regressor* reg, const torch::Tensor& input, const torch::Tensor& target,
                        const TeacherSignals* teacher) {
  const auto& o = cfg.objective;
  const spec::Needs n = phase.needs;
  const bool hint_only = phase.loss == spec::Phase::kHint;
  std::vector<config::ResolvedPair> pairs;  // the teacher's layers are its business: -1 here
  if (n.teacher_hidden) pairs = config::resolve_hidden_pairs(cfg, /*teacher_layers=*/-1);
  model::ForwardOptions fo;
  for (const auto& p : pairs) fo.hidden_layers.push_back(p.student);
  fo.logits = false;  // the de-embedding happens inside chunked_lm_loss
  if (hint_only)      // phase 1 runs only the first m_S blocks: the deepest any pair reads
    for (const auto& p : pairs) fo.stop_after = std::max(fo.stop_after, p.student);
  else
    fo.final_normed = true;
  auto out = student->forward(input, fo);
  LossOutput r;
  torch::Tensor hidden_term;
  if (n.teacher_hidden) {
    hidden_term = hidden_pairs_loss(cfg, pairs, out.hidden, *reg, *teacher);
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
  if (n.teacher_hidden) r.loss = r.loss + weighted_hidden(o, phase.hidden, hidden_term, kd_term);
  return r;
}

}  // namespace hld::objectives
