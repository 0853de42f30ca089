// Derived values of an experiment config (defaults that depend on other sections).
#include "hld/config/experiment.h"

#include "hld/config/enum_names.h"

#include <stdexcept>
#include <vector>

#include "hld/util/format.h"

namespace hld::config {

int64_t ExperimentConfig::student_hint_layer() const {
  return objective.student_layer > 0 ? objective.student_layer : model.num_layers / 2;
}

int64_t ExperimentConfig::teacher_hint_layer(const ModelConfig& t) const {
  return objective.teacher_layer > 0 ? objective.teacher_layer : t.num_layers / 2;
}

RegressorKind regressor_kind_for(const ObjectiveConfig& o, Objective which) {
  return o.regressor ? *o.regressor : spec::of(which).default_regressor;
}

RegressorKind ExperimentConfig::regressor_kind() const { return regressor_kind_for(objective, objective.name); }

const char* to_string(Objective o) { return spec::of(o).name; }

const char* to_string(RegressorKind r) { return name_in(regressor_names(), r); }
const char* to_string(BudgetUnit u) { return name_in(budget_unit_names(), u); }
const char* to_string(Divergence d) { return name_in(divergence_names(), d); }
const char* to_string(TailMode t) { return name_in(tail_mode_names(), t); }
const char* to_string(HiddenLoss l) { return name_in(hidden_loss_names(), l); }
const char* to_string(TeacherLogits l) { return name_in(teacher_logits_names(), l); }
const char* to_string(ActivationCheckpointing a) { return name_in(checkpointing_names(), a); }

std::string variant_label(const ExperimentConfig& c) {
  std::vector<std::string> parts;
  const auto& o = c.objective;
  const auto& objective = spec::of(o.name);
  if (!objective.reads_teacher()) return "";
  if (o.divergence != Divergence::kForwardKl) {
    std::string d = to_string(o.divergence);
    if (o.divergence == Divergence::kJsd) d += " \xce\xb2=" + util::format_g(o.jsd_beta);
    if (o.divergence == Divergence::kSkewKl) d += " \xce\xbb=" + util::format_g(o.skew);
    parts.push_back(d);
  }
  if (o.tail == TailMode::kBucket) parts.push_back("tail bucket");
  if (c.teacher.logits == TeacherLogits::kSampled) parts.push_back("sampled logits");
  if (objective.reads_hidden()) {
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
