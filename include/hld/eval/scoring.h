// Batched log-likelihood scoring with an hld-train Transformer, and the evaluation entry point the
// CLI and the training loop call. Requests are sorted by length (longest first, as the harness
// does), right-padded and scored `batch_size` at a time, so one forward pass holds many choices of
// many documents; right padding cannot reach the real tokens of a causal model. The scored
// positions' NLL comes from the training loss's chunked de-embedding (objectives::chunked_row_nll:
// float32 logsumexp, never a full B×T×V float32 tensor). On CUDA the forward runs under bf16
// autocast.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hld/config/experiment.h"
#include "hld/data/tokenizer.h"
#include "hld/eval/harness.h"
#include "hld/model/model_io.h"
#include "hld/model/transformer.h"

namespace hld::eval {

class TransformerScorer : public Scorer {
 public:
  /// `model` must already live on `device`. `max_length`: the scoring window (eval.context);
  /// `batch_size`: sequences per forward (eval.batch_size); `row_chunk`: scored positions per
  /// de-embedding + logsumexp step (bounds the float32 logits to row_chunk × V).
  TransformerScorer(model::Transformer model, torch::Device device, int64_t max_length, int64_t batch_size,
                    int64_t row_chunk = 2048);
  std::vector<ScoreResult> score(const std::vector<TokenRequest>& requests, const std::string& label) override;
  int64_t max_length() const override { return max_length_; }
  /// Input tokens read by the model so far and scored positions, for throughput reports.
  int64_t tokens_read() const { return tokens_read_; }
  int64_t tokens_scored() const { return tokens_scored_; }

 private:
  model::Transformer model_;
  torch::Device device_;
  int64_t max_length_, batch_size_, row_chunk_;
  int64_t tokens_read_ = 0, tokens_scored_ = 0;
};

/// The scoring window of a config: eval.context, or data.context when that is 0.
int64_t eval_context(const config::ExperimentConfig& cfg);

/// Runs every task of `cfg.tasks` on `model` (on `device`; left in the train/eval mode it had)
/// with `tok`, scoring windows of `context` tokens, with the BOS convention of eval.add_bos /
/// eval.prefix_token for a model of data layout `layout` (model::read_data_layout of its
/// directory; hld/eval/convention.h). Task files are read and checked before any scoring
/// (InputError naming file and line). Returns {tasks: {name: metrics}, context, batch_size,
/// add_bos, prefix_token, convention, device, dtype, tokens_read, elapsed_s}.
nlohmann::json run_eval(model::Transformer& model, const data::Tokenizer& tok, const config::EvalConfig& cfg,
                        torch::Device device, int64_t context, const model::DataLayout& layout = {});
/// The same with the tasks already read by load_tasks(cfg) (the CLI reads them before loading a model).
nlohmann::json run_eval(model::Transformer& model, const data::Tokenizer& tok, const TaskSuite& suite,
                        const config::EvalConfig& cfg, torch::Device device, int64_t context,
                        const model::DataLayout& layout = {});

/// The paper's Table 2 view of run_eval's tasks: log-perplexities (c4, valid_shards, wikitext) and
/// error rates 1 − acc (hellaswag, piqa, arc_easy, winogrande, lambada), for the tasks present.
nlohmann::json table2_summary(const nlohmann::json& tasks);

}  // namespace hld::eval
