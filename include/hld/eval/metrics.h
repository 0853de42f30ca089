// Metric arithmetic of lm-evaluation-harness (lm_eval/api/task.py process_results,
// lm_eval/api/metrics.py aggregations), over per-request scores.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "hld/eval/tasks.h"

namespace hld::eval {

/// numpy.argmax: the first maximum; the first NaN if there is one (NaN compares as the maximum).
int64_t np_argmax(const std::vector<double>& v);

/// One multiple-choice document's outcome (`process_results`, multiple_choice branch).
struct ChoiceOutcome {
  int64_t pred = 0;       ///< argmax of the log-likelihoods
  int64_t pred_norm = 0;  ///< argmax of log-likelihood / len(choice) (characters)
  bool acc = false, acc_norm = false;
};
ChoiceOutcome choice_outcome(const ChoiceDoc& doc, const std::vector<double>& logprobs);

/// Mean and its standard error (sample standard deviation / sqrt(n), the harness's mean_stderr).
struct MeanStderr {
  double mean = 0, se = 0;  ///< mean and standard error of the mean
};
MeanStderr mean_stderr(const std::vector<double>& v);

/// Sums the harness's weighted perplexities are made of.
struct RollingTotals {
  double logprob = 0;  ///< Σ log-likelihood of every document (nats)
  int64_t tokens = 0;  ///< Σ scored tokens
  int64_t words = 0;   ///< Σ words (harness count on the original text)
  int64_t bytes = 0;   ///< Σ UTF-8 bytes of the original text
  int64_t docs = 0;
};
/// {log_perplexity: -Σll/Σtokens (mean NLL in nats), token_perplexity, word_perplexity
///  exp(-Σll/Σwords), byte_perplexity exp(-Σll/Σbytes), bits_per_byte -Σll/Σbytes/ln 2,
///  tokens, words, bytes, examples}.
nlohmann::json rolling_metrics(const RollingTotals& t);

}  // namespace hld::eval
