// Derived values of an experiment config (defaults that depend on other sections).
#include "hld/config/experiment.h"

#include <stdexcept>

namespace hld::config {

int64_t ExperimentConfig::student_hint_layer() const {
  return objective.student_layer > 0 ? objective.student_layer : model.num_layers / 2;
}

int64_t ExperimentConfig::teacher_hint_layer() const {
  if (objective.teacher_layer > 0) return objective.teacher_layer;
  if (!teacher.model) throw std::logic_error("teacher_hint_layer: no teacher model");
  return teacher.model->num_layers / 2;
}

RegressorKind ExperimentConfig::regressor_kind() const {
  if (objective.regressor) return *objective.regressor;
  return objective.name == Objective::kHldf ? RegressorKind::kMlp : RegressorKind::kLinear;
}

const char* to_string(Objective o) {
  switch (o) {
    case Objective::kNll: return "nll";
    case Objective::kKd: return "kd";
    case Objective::kHldc: return "hldc";
    case Objective::kHldf: return "hldf";
  }
  return "?";
}

const char* to_string(RegressorKind r) {
  switch (r) {
    case RegressorKind::kLinear: return "linear";
    case RegressorKind::kMlp: return "mlp";
    case RegressorKind::kGatedMlp: return "gated_mlp";
  }
  return "?";
}

const char* to_string(BudgetUnit u) {
  switch (u) {
    case BudgetUnit::kSteps: return "steps";
    case BudgetUnit::kTokens: return "tokens";
    case BudgetUnit::kFlops: return "flops";
    case BudgetUnit::kOt: return "ot";
  }
  return "?";
}

}  // namespace hld::config
