// Harness metric arithmetic: argmax rules, acc/acc_norm, stderr, weighted perplexities.
#include "hld/eval/metrics.h"

#include <cmath>
#include <limits>

#include "hld/eval/pytext.h"

namespace hld::eval {

int64_t np_argmax(const std::vector<double>& v) {
  int64_t best = -1;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) return int64_t(i);
    if (best < 0 || v[i] > v[size_t(best)]) best = int64_t(i);
  }
  return best;
}

ChoiceOutcome choice_outcome(const ChoiceDoc& doc, const std::vector<double>& logprobs) {
  ChoiceOutcome o;
  o.pred = np_argmax(logprobs);
  // completion_len = [float(len(choice)) for choice in doc_to_choice(doc)]; numpy division by a
  // zero length gives ±inf (or NaN for 0/0), which argmax then treats as numpy does.
  std::vector<double> norm(logprobs.size());
  for (size_t i = 0; i < logprobs.size(); ++i) {
    const double len = double(py_len(doc.choices.at(i)));
    norm[i] = len > 0 ? logprobs[i] / len
                      : (logprobs[i] == 0 ? std::numeric_limits<double>::quiet_NaN()
                                          : std::copysign(std::numeric_limits<double>::infinity(), logprobs[i]));
  }
  o.pred_norm = np_argmax(norm);
  o.acc = o.pred == doc.gold;
  o.acc_norm = o.pred_norm == doc.gold;
  return o;
}

MeanStderr mean_stderr(const std::vector<double>& v) {
  MeanStderr r;
  const size_t n = v.size();
  if (n == 0) return r;
  double s = 0;
  for (double x : v) s += x;
  r.mean = s / double(n);
  if (n > 1) {
    double ss = 0;
    for (double x : v) ss += (x - r.mean) * (x - r.mean);
    r.se = std::sqrt(ss / double(n - 1)) / std::sqrt(double(n));
  }
  return r;
}

nlohmann::json rolling_metrics(const RollingTotals& t) {
  auto ratio = [](double a, int64_t b) { return b > 0 ? a / double(b) : std::numeric_limits<double>::quiet_NaN(); };
  auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  const double nll_token = ratio(-t.logprob, t.tokens);
  return {{"log_perplexity", num(nll_token)},
          {"token_perplexity", num(std::exp(nll_token))},
          {"word_perplexity", num(std::exp(ratio(-t.logprob, t.words)))},
          {"byte_perplexity", num(std::exp(ratio(-t.logprob, t.bytes)))},
          {"bits_per_byte", num(ratio(-t.logprob, t.bytes) / std::log(2.0))},
          {"tokens", t.tokens},
          {"words", t.words},
          {"bytes", t.bytes},
          {"examples", t.docs}};
}

}  // namespace hld::eval
