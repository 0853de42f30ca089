// Per-pair hint-regressor parameters and FLOPs.
#include "hld/budget/pair_costs.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "hld/budget/costs.h"
#include "hld/config/hidden_pairs.h"

namespace hld::budget {

std::vector<PairCost> pair_costs(const config::ExperimentConfig& c, config::Objective which,
                                 const config::ModelConfig* teacher) {
  const config::ModelConfig* t = teacher ? teacher : (c.teacher.model ? &*c.teacher.model : nullptr);
  std::vector<PairCost> out;
  if (!t) return out;
  for (const auto& p : config::resolve_hidden_pairs(c, which, t->num_layers)) {
    PairCost pc;
    pc.student = p.student;
    pc.teacher = p.teacher;
    pc.weight = p.weight;
    pc.loss = p.loss;
    pc.regressor = p.regressor;
    pc.params = regressor_params(p.regressor, c.model.hidden_size, t->hidden_size, c.objective.regressor_expansion);
    pc.flops = 6 * pc.params;
    out.push_back(pc);
  }
  return out;
}

std::string format_pair_costs(const std::vector<PairCost>& pairs, config::Objective which) {
  int64_t total = 0;
  for (const auto& p : pairs) total += p.flops;
  char buf[256];
  std::snprintf(buf, sizeof buf, "hidden pairs (%s): %zu, regressors 6*sum(N_reg) = %lld FLOPs/token\n",
                config::to_string(which), pairs.size(), static_cast<long long>(total));
  std::string s = buf;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& p = pairs[i];
    std::snprintf(buf, sizeof buf,
                  "  pair %zu: student %lld <-> teacher %lld, %s x %g, regressor %s N_reg %lld, 6*N_reg %lld "
                  "FLOPs/token\n",
                  i, static_cast<long long>(p.student), static_cast<long long>(p.teacher), config::to_string(p.loss),
                  p.weight, config::to_string(p.regressor), static_cast<long long>(p.params),
                  static_cast<long long>(p.flops));
    s += buf;
  }
  return s;
}

nlohmann::json to_json(const std::vector<PairCost>& pairs) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& p : pairs)
    a.push_back({{"student", p.student},
                 {"teacher", p.teacher},
                 {"weight", p.weight},
                 {"loss", config::to_string(p.loss)},
                 {"regressor", config::to_string(p.regressor)},
                 {"regressor_params", p.params},
                 {"regressor_flops_per_token", p.flops}});
  return a;
}

}  // namespace hld::budget
