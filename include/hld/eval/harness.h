// The torch-free evaluation driver: reads every configured task (validating the files before any
// model is loaded), turns documents into token requests with the harness's rules, hands them to
// a Scorer (the model, or any closed-form stand-in) and aggregates the harness's metrics.
//
// C4 validation rule (hld-train's, the harness has no C4 task): each document of the .json.gz is
// encoded, EOS is appended (the training stream's separator), and the tokens are scored with the
// same disjoint rolling windows as Wikitext (window = eval.context, first window conditioned on
// the prefix token). log_perplexity = Σ NLL / Σ scored tokens, in nats.
//
// BOS (HarnessOptions::add_bos, hld/eval/convention.h): every context of a loglikelihood request
// gets BOS in front before it is split, as the harness's tok_encode with special tokens does.
// Rolling documents (Wikitext, C4) get BOS exactly once: as the prefix token of their first
// window when the prefix is BOS (so the document is `BOS text [EOS]`, as in training), else in
// front of the document's tokens. The harness, with add_bos_token=True, does the latter in both
// cases: it also scores P(BOS | BOS) once per document.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "hld/config/experiment.h"
#include "hld/eval/metrics.h"
#include "hld/eval/requests.h"
#include "hld/eval/tasks.h"
#include "hld/eval/wikitext.h"

namespace hld::eval {

/// The model's answer for one request.
struct ScoreResult {
  double logprob = 0;   ///< Σ log P(continuation token | everything before it), nats
  bool greedy = false;  ///< every continuation token is the argmax of its position's logits
};

/// Scores token requests: a batched model (hld/eval/scoring.h) or a closed-form stand-in.
class Scorer {
 public:
  virtual ~Scorer() = default;
  /// One result per request, in order. `label` names the task for progress lines. Requests have a
  /// non-empty context and a continuation of 1..max_length() tokens.
  virtual std::vector<ScoreResult> score(const std::vector<TokenRequest>& requests, const std::string& label) = 0;
  /// The longest model input (the harness's max_length); longer inputs are cut from the left.
  virtual int64_t max_length() const = 0;
};

struct HarnessOptions {
  int32_t prefix_token = 1;     ///< stands in for an empty context / starts rolling windows (EOS)
  int32_t eos_token = 1;        ///< appended to every C4 document
  bool add_bos = false;         ///< BOS before every context and rolling document (see above)
  int32_t bos_token = 2;        ///< the BOS that add_bos puts there
  int64_t c4_chunk_docs = 256;  ///< C4 documents tokenised and scored per chunk (bounded memory)
};

/// Scores requests through `scorer`, answering empty continuations itself (log-likelihood 0,
/// greedy; the harness would assert) and refusing continuations longer than max_length() with an
/// InputError naming eval.context.
std::vector<ScoreResult> score_requests(Scorer& scorer, const std::vector<TokenRequest>& requests,
                                        const std::string& label);

/// acc, acc_stderr, acc_norm, acc_norm_stderr (when the harness has it), error = 1 − acc,
/// examples, requests, file.
nlohmann::json evaluate_choice(Scorer& scorer, const TextEncoder& enc, const ChoiceTask& task,
                               const HarnessOptions& opts);

/// lambada_openai: acc (greedy match of every continuation token), error, perplexity =
/// exp(−mean per-document log-likelihood) (the harness's `perplexity` aggregation), examples.
nlohmann::json evaluate_lambada(Scorer& scorer, const TextEncoder& enc, const std::vector<LambadaDoc>& docs,
                                const std::string& path, const HarnessOptions& opts);

/// Rolling loglikelihood over documents, fed in chunks (see rolling_metrics for the result).
class RollingEvaluator {
 public:
  RollingEvaluator(Scorer& scorer, const TextEncoder& enc, HarnessOptions opts, std::string label, bool append_eos);
  /// Encodes, windows and scores `docs`.
  void add(const std::vector<RollingDoc>& docs);
  /// Scores pre-tokenised sequences (words and bytes are not counted for these).
  void add_tokens(const std::vector<std::vector<int32_t>>& sequences);
  const RollingTotals& totals() const { return totals_; }
  nlohmann::json result() const { return rolling_metrics(totals_); }

 private:
  Scorer& scorer_;
  const TextEncoder& enc_;
  HarnessOptions opts_;
  std::string label_;
  bool append_eos_;
  RollingTotals totals_;
};

/// Wikitext word_perplexity, byte_perplexity, bits_per_byte and token log-perplexity.
nlohmann::json evaluate_wikitext(Scorer& scorer, const TextEncoder& enc, const std::vector<RollingDoc>& docs,
                                 const std::string& path, const HarnessOptions& opts);

/// C4 validation `.json.gz` (or .jsonl/.txt) streamed in chunks; `max_docs` 0: all. Malformed lines
/// are skipped and counted (reported as `skipped`).
nlohmann::json evaluate_c4(Scorer& scorer, const TextEncoder& enc, const std::string& path, int64_t max_docs,
                           const HarnessOptions& opts);

/// Held-out token shards (a split directory from `hld-train prepare`, or the prepared directory
/// holding `valid/`): sequence i is BatchStream::sequence(i) (context+1 tokens, unshuffled); the
/// model reads its first `context` = scorer.max_length() tokens and each of the `context` next
/// tokens is scored, as in training. log_perplexity = Σ NLL / Σ scored tokens. `max_sequences` 0: all.
nlohmann::json evaluate_shards(Scorer& scorer, const std::string& dir, int64_t max_sequences);
/// The split directory `evaluate_shards` reads for `path` (itself, or path/valid); InputError
/// naming eval.tasks.valid_shards when neither has an index.json.
std::string shard_split_dir(const std::string& path);

/// Every task named in an EvalConfig, read and checked up front.
struct TaskSuite {
  std::vector<ChoiceTask> choice;  ///< hellaswag, piqa, arc_easy, winogrande (config order)
  std::vector<LambadaDoc> lambada;
  std::vector<RollingDoc> wikitext;
  std::string c4, wikitext_path, lambada_path, valid_shards;  ///< "" when not configured
  int64_t max_examples = 0;
};

/// Reads eval.tasks: every file must exist and parse (InputError naming file and line otherwise);
/// unknown task names are rejected by the config loader.
TaskSuite load_tasks(const config::EvalConfig& cfg);

/// Runs every task of `suite` and returns {task name: metrics}, in the order c4, valid_shards,
/// wikitext, hellaswag, piqa, arc_easy, winogrande, lambada.
nlohmann::json run_tasks(Scorer& scorer, const TextEncoder& enc, const TaskSuite& suite, const HarnessOptions& opts);

}  // namespace hld::eval
