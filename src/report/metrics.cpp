// Metric key mapping from eval JSON to report columns (see hld/report/metrics.h).
#include "hld/report/metrics.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "hld/spec/eval_task.h"

namespace hld::report {
namespace {

const nlohmann::json* child(const nlohmann::json& j, const std::string& key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::optional<double> number(const nlohmann::json* j) {
  if (!j || !j->is_number()) return std::nullopt;
  const double v = j->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<double> task_value(const nlohmann::json& eval, const std::string& task, const std::string& key) {
  for (const char* section : {"metrics", "tasks", "results"}) {
    if (const auto* s = child(eval, section)) {
      if (const auto* t = child(*s, task))
        if (auto v = number(child(*t, key))) return v;
      if (auto v = number(child(*s, task + "/" + key))) return v;
    }
  }
  if (const auto* t = child(eval, task))
    if (auto v = number(child(*t, key))) return v;
  return std::nullopt;
}

}  // namespace

namespace {

// The report columns of the tasks of spec/eval_task.h whose `column` field is ≥ 0, in its order.
std::vector<std::string> columns_by(int spec::EvalTaskSpec::*column) {
  std::vector<const spec::EvalTaskSpec*> tasks;
  for (const auto& t : spec::eval_tasks())
    if (t.*column >= 0) tasks.push_back(&t);
  std::stable_sort(tasks.begin(), tasks.end(), [&](auto* a, auto* b) { return a->*column < b->*column; });
  std::vector<std::string> ids;
  for (const auto* t : tasks) ids.push_back(t->column);
  return ids;
}

}  // namespace

const std::vector<MetricSpec>& metric_table() {
  // The paper's Tables 4/5 columns in its order, then the tasks the paper does not have.
  static const std::vector<MetricSpec> table = [] {
    std::vector<const spec::EvalTaskSpec*> tasks;
    for (const auto& t : spec::eval_tasks()) tasks.push_back(&t);
    std::stable_sort(tasks.begin(), tasks.end(), [](auto* a, auto* b) {
      return (a->paper_column < 0 ? 1 << 20 : a->paper_column) < (b->paper_column < 0 ? 1 << 20 : b->paper_column);
    });
    std::vector<MetricSpec> out;
    for (const auto* t : tasks)
      out.push_back({t->column,
                     t->header,
                     {t->json_names.begin(), t->json_names.end()},
                     {t->value_keys.begin(), t->value_keys.end()},
                     t->error_from_acc});
    return out;
  }();
  return table;
}

const std::vector<std::string>& paper_metric_ids() {
  static const std::vector<std::string> ids = columns_by(&spec::EvalTaskSpec::paper_column);
  return ids;
}

const std::vector<std::string>& table2_metric_ids() {
  static const std::vector<std::string> ids = columns_by(&spec::EvalTaskSpec::table2_column);
  return ids;
}

const MetricSpec& metric_spec(const std::string& id) {
  for (const auto& m : metric_table())
    if (m.id == id) return m;
  throw std::out_of_range("unknown metric id '" + id + "'");
}

std::map<std::string, double> extract_metrics(const nlohmann::json& eval) {
  std::map<std::string, double> out;
  for (const auto& m : metric_table()) {
    std::optional<double> v;
    for (const auto& task : m.tasks) {
      for (const auto& key : m.keys)
        if ((v = task_value(eval, task, key))) break;
      if (!v && m.error_from_acc)
        if (auto acc = task_value(eval, task, "acc")) v = 1.0 - *acc;
      if (v) break;
    }
    if (v) out[m.id] = *v;
  }
  return out;
}

std::optional<double> extract_number(const nlohmann::json& eval, const std::vector<std::string>& dotted_paths) {
  for (const auto& path : dotted_paths) {
    const nlohmann::json* cur = &eval;
    std::stringstream ss(path);
    for (std::string part; cur && std::getline(ss, part, '.');) cur = child(*cur, part);
    if (auto v = number(cur)) return v;
  }
  return std::nullopt;
}

}  // namespace hld::report
