// The evaluation entry point shared by `hld-train eval` and the training loop: read the tasks,
// score them with a TransformerScorer, and summarise them as the paper's Table 2 does.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "hld/eval/convention.h"
#include "hld/eval/scoring.h"
#include "hld/eval/tokenizer_encoder.h"
#include "hld/util/error.h"
#include "hld/spec/eval_task.h"

namespace hld::eval {

int64_t eval_context(const config::ExperimentConfig& cfg) {
  return cfg.eval.context > 0 ? cfg.eval.context : cfg.data.context;
}

nlohmann::json run_eval(model::Transformer& model, const data::Tokenizer& tok, const config::EvalConfig& cfg,
                        torch::Device device, int64_t context, const model::DataLayout& layout) {
  const auto t0 = std::chrono::steady_clock::now();
  const TaskSuite suite = load_tasks(cfg);  // every file checked before the first forward pass
  auto j = run_eval(model, tok, suite, cfg, device, context, layout);
  j["elapsed_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return j;
}

nlohmann::json run_eval(model::Transformer& model, const data::Tokenizer& tok, const TaskSuite& suite,
                        const config::EvalConfig& cfg, torch::Device device, int64_t context,
                        const model::DataLayout& layout) {
  HLD_INPUT_CHECK(context >= 1, "eval.context = " + std::to_string(context) + ": expected a positive scoring window");
  const int64_t vocab = model->config().vocab_size;
  HLD_INPUT_CHECK(tok.vocab_size() <= vocab,
                  "data.tokenizer '" + tok.path() + "' has " + std::to_string(tok.vocab_size()) +
                      " pieces, more than the model's vocabulary (" + std::to_string(model->config().vocab_size) + ")");
  const auto t0 = std::chrono::steady_clock::now();
  TokenizerEncoder enc(tok);
  TransformerScorer scorer(model, device, context, cfg.batch_size);
  const Convention conv = resolve_convention(cfg, layout.bos, layout.source,
                                             {tok.bos_id(), tok.eos_id(), std::min(tok.vocab_size(), vocab)});
  HarnessOptions opts;
  opts.prefix_token = conv.prefix_token;
  opts.eos_token = tok.eos_id();
  opts.add_bos = conv.add_bos;
  opts.bos_token = conv.bos_token;
  spdlog::info("eval: {} task(s) on {} (window {}, batch {}, {}; {}, prefix token {}: {})", cfg.tasks.size(),
               device.str(), context, cfg.batch_size, device.is_cuda() ? "bf16 autocast" : "float32",
               conv.add_bos ? "BOS before every context" : "no BOS", conv.prefix_token, conv.reason);
  nlohmann::json tasks = run_tasks(scorer, enc, suite, opts);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto it = tasks.begin(); it != tasks.end(); ++it) {
    const auto& m = it.value();
    if (m.contains("acc"))
      spdlog::info("eval: {:<12} acc {:.4f}{} error {:.4f} ({} examples)", it.key(), m["acc"].get<double>(),
                   m.contains("acc_norm") ? fmt::format(" acc_norm {:.4f}", m["acc_norm"].get<double>()) : "",
                   m["error"].get<double>(), m["examples"].get<int64_t>());
    else if (m.contains("log_perplexity") && m["log_perplexity"].is_number())
      spdlog::info("eval: {:<12} log-perplexity {:.4f} nats/token ({} tokens, {} examples)", it.key(),
                   m["log_perplexity"].get<double>(), m["tokens"].get<int64_t>(), m["examples"].get<int64_t>());
  }
  return {{"tasks", tasks},
          {"context", context},
          {"batch_size", cfg.batch_size},
          {"max_examples", cfg.max_examples},
          {"add_bos", conv.add_bos},
          {"prefix_token", conv.prefix_token},
          {"convention", conv.to_json()},
          {"device", device.str()},
          {"dtype", device.is_cuda() ? "bfloat16" : "float32"},
          {"tokens_read", scorer.tokens_read()},
          {"tokens_scored", scorer.tokens_scored()},
          {"elapsed_s", elapsed}};
}

nlohmann::json table2_summary(const nlohmann::json& tasks) {
  nlohmann::json s = nlohmann::json::object();
  for (const auto& t : spec::eval_tasks())
    if (tasks.contains(t.name)) s[std::string(t.name) + "/" + t.summary_metric] = tasks[t.name][t.summary_metric];
  return s;
}

}  // namespace hld::eval
