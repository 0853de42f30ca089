// The evaluation tasks, declared once: the name eval.tasks and the eval JSON use, how the task is
// evaluated, what the eval JSON's summary keeps of it, and the report column it fills. The config
// loader (eval.tasks keys), the harness (eval/tasks), the eval JSON summary and the report read
// this table. Adding a multiple-choice task: its entry in src/spec/eval_task.cpp and its reader in
// src/eval/tasks/choice_tasks.cpp (docs/architecture.md, "Extension paths"). Torch-free, includes
// nothing of the project.
#pragma once

#include <string_view>
#include <vector>

namespace hld::spec {

/// How a task is evaluated (eval/harness.h): rolling log-likelihood over documents (C4's
/// .json.gz, Wikitext), over token shards, a multiple-choice accuracy, or LAMBADA's last word.
enum class TaskKind { kC4, kShards, kWikitext, kChoice, kLambada };

struct EvalTaskSpec {
  const char* name;  ///< eval.tasks key and eval JSON task name ("hellaswag")
  TaskKind kind;
  const char* summary_metric;  ///< what the eval JSON's summary keeps: "log_perplexity" | "error"
  // The report's column (report/metrics.h):
  const char* column;                   ///< metric id in the report's tables and CSVs ("valid")
  const char* header;                   ///< column header ("HSwag")
  std::vector<const char*> json_names;  ///< eval JSON task names read, in order (older spellings too)
  std::vector<const char*> value_keys;  ///< value keys tried in order within the task
  bool error_from_acc;                  ///< no key matched: 1 − acc
  int paper_column;                     ///< position in the paper's Tables 4/5 (-1: not there)
  int table2_column;                    ///< position in the paper's Table 2 (-1: not there)
};

/// Every task, in the order eval runs them (and the eval JSON lists them).
const std::vector<EvalTaskSpec>& eval_tasks();
/// The task named `name`, or null.
const EvalTaskSpec* find_eval_task(std::string_view name);

}  // namespace hld::spec
