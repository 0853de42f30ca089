// The evaluation-task registry (see eval_task.h).
#include "hld/spec/eval_task.h"

namespace hld::spec {

const std::vector<EvalTaskSpec>& eval_tasks() {
  static const std::vector<EvalTaskSpec> tasks = {
      {"c4",
       TaskKind::kC4,
       "log_perplexity",
       "c4",
       "C4",
       {"c4"},
       {"log_ppl", "log_perplexity", "token_log_ppl", "nll"},
       false,
       0,
       0},
      {"valid_shards",
       TaskKind::kShards,
       "log_perplexity",
       "valid",
       "Valid",
       {"valid_shards", "valid", "heldout"},
       {"log_ppl", "log_perplexity", "nll"},
       false,
       -1,
       -1},
      {"wikitext",
       TaskKind::kWikitext,
       "log_perplexity",
       "wikitext",
       "Wikitext",
       {"wikitext", "wikitext103", "wikitext-103"},
       {"log_ppl", "log_perplexity", "token_log_ppl", "nll"},
       false,
       1,
       1},
      {"hellaswag", TaskKind::kChoice, "error", "hellaswag", "HSwag", {"hellaswag"}, {"error"}, true, 2, 2},
      {"piqa", TaskKind::kChoice, "error", "piqa", "PIQA", {"piqa"}, {"error"}, true, 3, 3},
      {"arc_easy",
       TaskKind::kChoice,
       "error",
       "arc_easy",
       "ARC-E",
       {"arc_easy", "arc-easy", "arc_e"},
       {"error"},
       true,
       6,
       4},
      {"winogrande", TaskKind::kChoice, "error", "winogrande", "WinoG", {"winogrande"}, {"error"}, true, 4, 5},
      {"lambada",
       TaskKind::kLambada,
       "error",
       "lambada",
       "LAMBADA",
       {"lambada", "lambada_openai"},
       {"error"},
       true,
       5,
       6},
  };
  return tasks;
}

const EvalTaskSpec* find_eval_task(std::string_view name) {
  for (const auto& t : eval_tasks())
    if (name == t.name) return &t;
  return nullptr;
}

}  // namespace hld::spec
