// The one table that maps report columns (the paper's C4, Wikitext, HSwag, PIQA, WinoG, LAMBADA,
// ARC-E, plus our held-out shards) to keys of a run's eval JSON. Every metric is "lower is better"
// (log-perplexity in nats, or error rate = 1 − acc), as in the paper's tables.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hld::report {

struct MetricSpec {
  std::string id;                  ///< column id used in CSV and code ("c4", "hellaswag", ...)
  std::string header;              ///< column header in the paper's tables ("C4", "HSwag", ...)
  std::vector<std::string> tasks;  ///< eval-JSON task names tried in order
  std::vector<std::string> keys;   ///< value keys tried in order within the task
  bool error_from_acc = false;     ///< if no key matched, use 1 − acc
};

/// All metrics, in the paper's Tables 4/5 column order (C4, Wikitext, HSwag, Piqa, WinoG,
/// Lambada, Arc-E), followed by "valid" (held-out token shards, not in the paper).
const std::vector<MetricSpec>& metric_table();

/// The paper's seven metric ids in Tables 4/5 order.
const std::vector<std::string>& paper_metric_ids();

/// The seven ids in Table 2's column order (C4, Wikitext, HSwag, PIQA, ARC-E, WinoGd, LMBDA).
const std::vector<std::string>& table2_metric_ids();

/// The spec of `id`; throws std::out_of_range for an unknown id.
const MetricSpec& metric_spec(const std::string& id);

/// Reads every metric of the table from an eval JSON document. Accepted layouts, tried in order
/// for each task name: `metrics.<task>.<key>`, `tasks.<task>.<key>`, `<task>.<key>`, and flat
/// `metrics["<task>/<key>"]`. Non-numeric or non-finite values are ignored (shown as "—").
std::map<std::string, double> extract_metrics(const nlohmann::json& eval);

/// Training FLOPs / tokens / steps recorded in an eval JSON (`flops`, `flops_spent`,
/// `train.flops`, `training.flops`, `trained.flops`, ...); nullopt when absent.
std::optional<double> extract_number(const nlohmann::json& eval, const std::vector<std::string>& dotted_paths);

}  // namespace hld::report
