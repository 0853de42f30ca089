// Derived values of an experiment config (defaults that depend on other sections).
#include "hld/config/experiment.h"

#include <cstdio>
#include <stdexcept>
#include <vector>

#include "hld/objectives/registry.h"

namespace hld::config {

int64_t ExperimentConfig::student_hint_layer() const {
  return objective.student_layer > 0 ? objective.student_layer : model.num_layers / 2;
}

int64_t ExperimentConfig::teacher_hint_layer(const ModelConfig& t) const {
  return objective.teacher_layer > 0 ? objective.teacher_layer : t.num_layers / 2;
}

RegressorKind ExperimentConfig::regressor_kind() const {
  return objective.regressor ? *objective.regressor : objectives::spec(objective.name).default_regressor;
}

const char* to_string(Objective o) {
  switch (o) {
    case Objective::kNll:
      return "nll";
    case Objective::kKd:
      return "kd";
    case Objective::kHldc:
      return "hldc";
    case Objective::kHldf:
      return "hldf";
  }
  return "?";
}

const char* to_string(RegressorKind r) {
  switch (r) {
    case RegressorKind::kLinear:
      return "linear";
    case RegressorKind::kMlp:
      return "mlp";
    case RegressorKind::kGatedMlp:
      return "gated_mlp";
  }
  return "?";
}

const char* to_string(BudgetUnit u) {
  switch (u) {
    case BudgetUnit::kSteps:
      return "steps";
    case BudgetUnit::kTokens:
      return "tokens";
    case BudgetUnit::kFlops:
      return "flops";
    case BudgetUnit::kOt:
      return "ot";
  }
  return "?";
}

const char* to_string(Divergence d) {
  switch (d) {
    case Divergence::kForwardKl:
      return "forward_kl";
    case Divergence::kReverseKl:
      return "reverse_kl";
    case Divergence::kJsd:
      return "jsd";
    case Divergence::kSkewKl:
      return "skew_kl";
    case Divergence::kTvd:
      return "tvd";
  }
  return "?";
}

const char* to_string(TailMode t) { return t == TailMode::kBucket ? "bucket" : "renormalise"; }

const char* to_string(HiddenLoss l) {
  switch (l) {
    case HiddenLoss::kNmse:
      return "nmse";
    case HiddenLoss::kCosine:
      return "cosine";
    case HiddenLoss::kMse:
      return "mse";
  }
  return "?";
}

const char* to_string(TeacherLogits l) { return l == TeacherLogits::kSampled ? "sampled" : "topk"; }

const char* to_string(ActivationCheckpointing a) {
  switch (a) {
    case ActivationCheckpointing::kNone:
      return "none";
    case ActivationCheckpointing::kBlocks:
      return "blocks";
    case ActivationCheckpointing::kEveryK:
      return "every_k";
  }
  return "?";
}

namespace {
std::string fmt_g(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}
}  // namespace

std::string variant_label(const ExperimentConfig& c) {
  std::vector<std::string> parts;
  const auto& o = c.objective;
  if (o.name == Objective::kNll) return "";
  if (o.divergence != Divergence::kForwardKl) {
    std::string d = to_string(o.divergence);
    if (o.divergence == Divergence::kJsd) d += " \xce\xb2=" + fmt_g(o.jsd_beta);
    if (o.divergence == Divergence::kSkewKl) d += " \xce\xbb=" + fmt_g(o.skew);
    parts.push_back(d);
  }
  if (o.tail == TailMode::kBucket) parts.push_back("tail bucket");
  if (c.teacher.logits == TeacherLogits::kSampled) parts.push_back("sampled logits");
  if (o.name == Objective::kHldc || o.name == Objective::kHldf) {
    if (o.hidden_map == "uniform")
      parts.push_back("uniform layer map");
    else if (o.hidden_pairs.size() > 1)
      parts.push_back(std::to_string(o.hidden_pairs.size()) + " layer pairs");
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace hld::config
