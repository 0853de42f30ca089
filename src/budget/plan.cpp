// The budget controller: budget unit → FLOPs → optimizer steps per phase (see hld/budget/plan.h).
#include "hld/budget/plan.h"

#include <cmath>
#include <sstream>

#include "hld/spec/objective.h"
#include "hld/util/error.h"

namespace hld::budget {
namespace {

using ld = long double;

// Largest n with n × step ≤ budget (exact for the integers involved, corrected for rounding).
int64_t steps_within(ld budget, int64_t flops_per_step) {
  if (budget <= 0 || flops_per_step <= 0) return 0;
  const ld step = static_cast<ld>(flops_per_step);
  auto n = static_cast<int64_t>(std::floor(budget / step));
  while (n > 0 && static_cast<ld>(n) * step > budget) --n;
  while (static_cast<ld>(n + 1) * step <= budget) ++n;
  return n;
}

PhasePlan make_phase(const std::string& name, const std::string& cost_model, int64_t cost, int64_t tokens_per_step,
                     ld target) {
  PhasePlan ph;
  ph.name = name;
  ph.cost_model = cost_model;
  ph.cost_per_token = cost;
  ph.tokens_per_step = tokens_per_step;
  ph.flops_per_step = cost * tokens_per_step;
  ph.target_flops = static_cast<double>(target);
  ph.steps = steps_within(target, ph.flops_per_step);
  ph.tokens = ph.steps * tokens_per_step;
  ph.flops = static_cast<double>(static_cast<ld>(ph.steps) * static_cast<ld>(ph.flops_per_step));
  return ph;
}

std::string g(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

void require_steps(const PhasePlan& ph, const std::string& what) {
  if (ph.steps > 0) return;
  throw InputError("budget: " + what + " gets 0 optimizer steps (" + g(ph.target_flops) +
                   " FLOPs < one step = " + g(static_cast<double>(ph.flops_per_step)) + " FLOPs); raise budget.amount" +
                   (ph.name == "hint" ? std::string(" or objective.p1") : std::string()));
}

}  // namespace

double BudgetPlan::flops_spent(size_t phase, int64_t steps_done) const {
  ld f = 0;
  for (size_t i = 0; i < phase && i < phases.size(); ++i) f += static_cast<ld>(phases[i].flops);
  if (phase < phases.size()) f += static_cast<ld>(steps_done) * static_cast<ld>(phases[phase].flops_per_step);
  return static_cast<double>(f);
}

BudgetPlan plan(const config::ExperimentConfig& c, int world_size, const config::ModelConfig* teacher) {
  HLD_INPUT_CHECK(world_size >= 1, "world size " + std::to_string(world_size) + ": expected at least 1");
  BudgetPlan p;
  p.objective = c.objective.name;
  p.unit = c.budget.unit;
  p.amount = c.budget.amount;
  p.world_size = world_size;
  p.global_batch = c.data.batch_size * world_size;
  p.context = c.data.context;
  p.tokens_per_step = p.global_batch * p.context;
  HLD_INPUT_CHECK(p.tokens_per_step > 0, "data.batch_size × data.context: expected a positive product");

  const config::ModelConfig* t = teacher ? teacher : (c.teacher.model ? &*c.teacher.model : nullptr);
  p.student = config::count_params(c.model);
  if (t) p.teacher = config::count_params(*t);
  p.costs = token_costs(c, teacher);
  const TokenCosts& k = p.costs;

  const auto& objective = spec::of(c.objective.name);
  auto cost_of = [&](spec::CostModel m) -> std::pair<int64_t, const char*> {
    switch (m) {
      case spec::CostModel::kData:
        return {k.data, "data"};
      case spec::CostModel::kKd:
        return {k.kd, "kd"};
      case spec::CostModel::kHldc:
        return {k.hldc.value_or(0), "hldc"};
      case spec::CostModel::kHt:
        return {k.ht.value_or(0), "ht"};
    }
    return {0, "?"};
  };
  if (spec::of(c.objective.name).uses_regressor()) {
    HLD_INPUT_CHECK(k.ht && k.hldc, std::string("objective.name = ") + config::to_string(c.objective.name) +
                                        ": teacher.model is needed to size the hint regressor (d_T)");
    p.regressor_kind = c.regressor_kind();
    for (const auto& ph : objective.phases)  // the regressors of the phase that trains them
      if (ph.regressor) p.regressor_params = ph.cost == spec::CostModel::kHt ? k.regressor_hldf : k.regressor_hldc;
  }

  // The per-token cost of the run's last phase, for the `steps` unit.
  const int64_t main_cost = cost_of(objective.phases.back().cost).first;

  ld budget = 0;
  const ld amount = static_cast<ld>(c.budget.amount);
  switch (c.budget.unit) {
    case config::BudgetUnit::kFlops:
      budget = amount;
      break;
    case config::BudgetUnit::kTokens:
      budget = amount * static_cast<ld>(k.data);
      break;
    case config::BudgetUnit::kOt:
      budget = amount * 20.0L * static_cast<ld>(k.student_backbone) * static_cast<ld>(k.data);
      break;
    case config::BudgetUnit::kSteps:
      HLD_INPUT_CHECK(
          std::floor(c.budget.amount) == c.budget.amount,
          "budget.amount = " + g(c.budget.amount) + ": expected a whole number of steps (budget.unit = steps)");
      budget = amount * static_cast<ld>(p.tokens_per_step) * static_cast<ld>(main_cost);
      break;
  }
  p.budget_flops = static_cast<double>(budget);
  p.nll_tokens = static_cast<double>(budget / static_cast<ld>(k.data));
  p.ot_units = static_cast<double>(budget / (20.0L * static_cast<ld>(k.student_backbone) * static_cast<ld>(k.data)));

  // Phases in the registry's order: a P1 share first, then the rest of the budget.
  ld left = budget;
  for (const auto& ps : objective.phases) {
    const auto [cost, model] = cost_of(ps.cost);
    const bool first_share = ps.share == spec::BudgetShare::kP1;
    PhasePlan ph = make_phase(ps.name, model, cost, p.tokens_per_step,
                              first_share ? static_cast<ld>(c.objective.p1) * budget : left);
    const bool several = objective.phases.size() > 1;
    require_steps(ph, several ? std::string(config::to_string(c.objective.name)) + " phase " +
                                    std::to_string(p.phases.size() + 1) + " (" + ps.name +
                                    (first_share ? ", P1 = " + g(c.objective.p1) + " of the budget)" : ")")
                              : std::string("the ") + config::to_string(c.objective.name) + " run");
    left -= static_cast<ld>(ph.steps) * static_cast<ld>(ph.flops_per_step);
    p.phases.push_back(ph);
  }

  ld spent = 0;
  for (const auto& ph : p.phases) {
    p.total_steps += ph.steps;
    p.total_tokens += ph.tokens;
    spent += static_cast<ld>(ph.steps) * static_cast<ld>(ph.flops_per_step);
  }
  p.total_flops = static_cast<double>(spent);
  p.remainder_flops = static_cast<double>(budget - spent);
  return p;
}

double mfu(double tokens_per_s, double flops_per_token, double peak_flops) {
  if (!(peak_flops > 0) || !(tokens_per_s >= 0) || !(flops_per_token >= 0)) return 0.0;
  return tokens_per_s * flops_per_token / peak_flops;
}

double estimate_seconds(const BudgetPlan& p, double tokens_per_s) {
  if (!(tokens_per_s > 0) || p.costs.data <= 0) return 0.0;
  return p.total_flops / (tokens_per_s * static_cast<double>(p.costs.data));
}

}  // namespace hld::budget
