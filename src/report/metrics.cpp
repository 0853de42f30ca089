// Metric key mapping from eval JSON to report columns (see hld/report/metrics.h).
#include "hld/report/metrics.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>
#include <stdexcept>

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

const std::vector<MetricSpec>& metric_table() {
  static const std::vector<MetricSpec> table = {
      {"c4", "C4", {"c4"}, {"log_ppl", "log_perplexity", "token_log_ppl", "nll"}, false},
      {"wikitext",
       "Wikitext",
       {"wikitext", "wikitext103", "wikitext-103"},
       {"log_ppl", "log_perplexity", "token_log_ppl", "nll"},
       false},
      {"hellaswag", "HSwag", {"hellaswag"}, {"error"}, true},
      {"piqa", "PIQA", {"piqa"}, {"error"}, true},
      {"winogrande", "WinoG", {"winogrande"}, {"error"}, true},
      {"lambada", "LAMBADA", {"lambada", "lambada_openai"}, {"error"}, true},
      {"arc_easy", "ARC-E", {"arc_easy", "arc-easy", "arc_e"}, {"error"}, true},
      {"valid", "Valid", {"valid_shards", "valid", "heldout"}, {"log_ppl", "log_perplexity", "nll"}, false},
  };
  return table;
}

const std::vector<std::string>& paper_metric_ids() {
  static const std::vector<std::string> ids = {"c4",         "wikitext", "hellaswag", "piqa",
                                               "winogrande", "lambada",  "arc_easy"};
  return ids;
}

const std::vector<std::string>& table2_metric_ids() {
  static const std::vector<std::string> ids = {"c4",       "wikitext",   "hellaswag", "piqa",
                                               "arc_easy", "winogrande", "lambada"};
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
