// Hidden-layer pairs after defaults: explicit pairs, the uniform map, or the paper's one pair.
#include "hld/config/hidden_pairs.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace hld::config {
namespace {

RegressorKind kind_of(const ObjectiveConfig& o, const std::optional<RegressorKind>& r, Objective which) {
  return r ? *r : regressor_kind_for(o, which);
}

}  // namespace

std::vector<ResolvedPair> resolve_hidden_pairs(const ExperimentConfig& cfg, Objective which, int64_t teacher_layers) {
  const auto& o = cfg.objective;
  const int64_t ds = cfg.model.num_layers;
  auto teacher_default = [&](int64_t t) -> int64_t {
    if (t > 0) return t;
    return teacher_layers > 0 ? teacher_layers / 2 : -1;
  };
  std::vector<ResolvedPair> out;
  if (!o.hidden_pairs.empty()) {
    for (size_t i = 0; i < o.hidden_pairs.size(); ++i) {
      const auto& p = o.hidden_pairs[i];
      ResolvedPair r;
      r.key = "objective.hidden_pairs[" + std::to_string(i) + "].teacher";
      r.student = p.student > 0 ? p.student : ds / 2;
      r.teacher = teacher_default(p.teacher);
      r.weight = p.weight;
      r.loss = p.loss;
      r.regressor = kind_of(o, p.regressor, which);
      out.push_back(r);
    }
    return out;
  }
  if (o.hidden_map == "uniform") {
    for (int64_t s = 1; s <= ds; ++s) {
      ResolvedPair r;
      r.student = s;
      r.key = "objective.hidden_map = uniform, student block " + std::to_string(s);
      r.teacher = -1;  // unknown teacher depth
      if (teacher_layers > 0) {
        const double t = static_cast<double>(s) * static_cast<double>(teacher_layers) / static_cast<double>(ds);
        r.teacher = std::clamp<int64_t>(std::llround(t), 1, teacher_layers);
      }
      r.regressor = kind_of(o, std::nullopt, which);
      out.push_back(r);
    }
    return out;
  }
  ResolvedPair r;  // the paper: D_S/2 ↔ D_T/2 (or the configured single pair), normalised MSE
  r.student = cfg.student_hint_layer();
  r.teacher = o.teacher_layer > 0 ? o.teacher_layer : (teacher_layers > 0 ? teacher_layers / 2 : -1);
  r.regressor = kind_of(o, std::nullopt, which);
  r.key = "objective.teacher_layer";
  out.push_back(r);
  return out;
}

std::vector<ResolvedPair> resolve_hidden_pairs(const ExperimentConfig& cfg, int64_t teacher_layers) {
  return resolve_hidden_pairs(cfg, cfg.objective.name, teacher_layers);
}

int64_t deepest_student_layer(const ExperimentConfig& cfg) {
  int64_t m = 0;
  for (const auto& p : resolve_hidden_pairs(cfg, /*teacher_layers=*/-1)) m = std::max(m, p.student);
  return m;
}

std::vector<int64_t> teacher_layers_needed(const std::vector<ResolvedPair>& pairs) {
  std::vector<int64_t> out;
  for (const auto& p : pairs) out.push_back(p.teacher);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string check_hidden_pairs(const ExperimentConfig& cfg, int64_t teacher_layers) {
  const auto& o = cfg.objective;
  std::ostringstream e;
  const int64_t ds = cfg.model.num_layers;
  if (!o.hidden_map.empty() && o.hidden_map != "uniform")
    e << "objective.hidden_map = '" << o.hidden_map << "': expected '' or 'uniform'\n";
  if (!o.hidden_pairs.empty() && !o.hidden_map.empty())
    e << "objective.hidden_map = '" << o.hidden_map
      << "': give either objective.hidden_pairs or hidden_map, not both\n";
  for (size_t i = 0; i < o.hidden_pairs.size(); ++i) {
    const auto& p = o.hidden_pairs[i];
    const std::string key = "objective.hidden_pairs[" + std::to_string(i) + "]";
    if (!(p.student == -1 || (p.student >= 1 && p.student <= ds)))
      e << key << ".student = " << p.student << ": expected -1 or a block index in [1, " << ds
        << "] (model.num_layers)\n";
    if (!(p.teacher == -1 || (p.teacher >= 1 && (teacher_layers <= 0 || p.teacher <= teacher_layers))))
      e << key << ".teacher = " << p.teacher << ": expected -1 or a block index in [1, "
        << (teacher_layers > 0 ? std::to_string(teacher_layers) : std::string("the teacher's depth"))
        << "] (the teacher's depth)\n";
    if (!(p.weight >= 0 && std::isfinite(p.weight)))
      e << key << ".weight = " << p.weight << ": expected a non-negative value\n";
  }
  return e.str();
}

}  // namespace hld::config
