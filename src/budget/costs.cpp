// Per-token FLOPs of each objective from exact parameter counts (see hld/budget/costs.h).
#include "hld/budget/costs.h"

#include <cmath>
#include <string>

#include "hld/config/hidden_pairs.h"
#include "hld/spec/objective.h"
#include "hld/util/error.h"

namespace hld::budget {

int64_t regressor_hidden(int64_t d_student, double expansion) {
  const auto h = static_cast<int64_t>(std::llround(expansion * static_cast<double>(d_student)));
  return h < 1 ? 1 : h;
}

int64_t regressor_params(config::RegressorKind kind, int64_t d_student, int64_t d_teacher, double expansion) {
  const int64_t h = regressor_hidden(d_student, expansion);
  switch (kind) {
    case config::RegressorKind::kLinear:
      return d_student * d_teacher;
    case config::RegressorKind::kMlp:
      return d_student * h + h * d_teacher;
    case config::RegressorKind::kGatedMlp:
      return 2 * d_student * h + h * d_teacher;
  }
  return 0;
}

namespace {

// The objective whose regressors cost model `m` counts: the run's own when one of its phases trains
// a regressor under `m`, else the first in the registry that does (C_HLDC: HLDC's linear one,
// C_HT: HLDF's MLP), so that `flops` prints every cost model for any config.
spec::Objective regressor_owner(spec::Objective run, spec::CostModel m) {
  auto counts = [m](const spec::ObjectiveSpec& s) {
    for (const auto& p : s.phases)
      if (p.regressor && p.cost == m) return true;
    return false;
  };
  if (counts(spec::of(run))) return run;
  for (const auto& s : spec::registry())
    if (counts(s)) return s.id;
  return run;
}

}  // namespace

int64_t forward_cost(const config::ModelConfig& m) {
  const auto p = config::count_params(m);
  return 2 * p.backbone + 2 * m.hidden_size * m.vocab_size;
}

std::optional<double> TokenCosts::ratio(std::optional<int64_t> c, int64_t data) {
  if (!c || data <= 0) return std::nullopt;
  return static_cast<double>(*c) / static_cast<double>(data);
}

TokenCosts token_costs(const config::ExperimentConfig& c, const config::ModelConfig* teacher) {
  const config::ModelConfig* t = teacher ? teacher : (c.teacher.model ? &*c.teacher.model : nullptr);
  const auto student = config::count_params(c.model);
  TokenCosts k;
  k.student_backbone = student.backbone;
  k.d_student = c.model.hidden_size;
  k.vocab = c.model.vocab_size;
  if (t) k.d_teacher = t->hidden_size;

  // C_teacher: only an online teacher costs anything, and only when the config says to count it.
  k.teacher_counted = c.teacher.source == "online" && c.budget.count_teacher;
  if (k.teacher_counted) {
    if (!t) {
      if (c.needs_teacher())
        throw InputError(
            "budget.count_teacher = true with teacher.source = online: teacher.model "
            "is needed to count the teacher's forward FLOPs (give teacher.model, or set "
            "budget.count_teacher=false)");
      k.teacher_counted = false;
    } else {
      k.teacher = forward_cost(*t);
    }
  }

  k.data = 6 * k.student_backbone + 6 * k.d_student * k.vocab;
  k.kd = k.data + k.teacher;
  if (k.d_teacher) {
    // Every hidden pair has its own regressor (objective.hidden_pairs; default: the paper's one).
    auto sum_regressors = [&](spec::CostModel m) {
      const spec::Objective owner = regressor_owner(c.objective.name, m);
      int64_t n = 0;
      for (const auto& p : config::resolve_hidden_pairs(c, owner, t ? t->num_layers : -1))
        n += regressor_params(p.regressor, k.d_student, *k.d_teacher, c.objective.regressor_expansion);
      return n;
    };
    k.regressor_hldc = sum_regressors(spec::CostModel::kHldc);
    k.regressor_hldf = sum_regressors(spec::CostModel::kHt);
    // Phase 1 trains the embedding and the first m_S of D_S blocks (3N at m_S = D_S/2) and runs
    // the teacher up to its hint layer m_T (C_teacher/2 at m_T = D_T/2); with several pairs m_S
    // and m_T are the deepest layers any pair reads.
    const int64_t ms = config::deepest_student_layer(c), ds = c.model.num_layers;
    const int64_t student_part = 6 * k.student_backbone * ms / ds;
    int64_t teacher_part = 0;
    if (k.teacher_counted) {
      const int64_t mt = config::teacher_layers_needed(config::resolve_hidden_pairs(c, t->num_layers)).back();
      teacher_part = k.teacher * mt / t->num_layers;
      if (2 * mt == t->num_layers) teacher_part = k.teacher / 2;  // exactly the SPEC's C_teacher/2
    }
    k.ht = student_part + 6 * *k.regressor_hldf + teacher_part;
    k.hldc = k.kd + 6 * *k.regressor_hldc;
  }
  return k;
}

}  // namespace hld::budget
