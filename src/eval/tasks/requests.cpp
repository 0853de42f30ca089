// Token requests with lm-evaluation-harness's tokenisation and rolling-window rules
// (lm_eval/api/model.py `_encode_pair`, `loglikelihood`; lm_eval/utils.py
// `get_rolling_token_windows`, `make_disjoint_window`). See hld/eval/requests.h.
#include "hld/eval/requests.h"

#include <algorithm>
#include <stdexcept>

#include "hld/eval/pytext.h"

namespace hld::eval {

TokenRequest encode_request(const TextEncoder& enc, const TextRequest& req, int32_t prefix_token, int32_t bos_token) {
  TokenRequest out;
  if (req.context.empty()) {
    out.continuation = enc.encode(req.continuation);
    if (!out.continuation.empty() && out.continuation.front() == prefix_token) {
      out.context.push_back(out.continuation.front());
      out.continuation.erase(out.continuation.begin());
    } else {
      out.context.push_back(prefix_token);
    }
    return out;
  }
  // Trailing whitespace (context.rstrip()) belongs to the continuation.
  std::string context = py_rstrip(req.context);
  const std::string continuation = req.context.substr(context.size()) + req.continuation;
  const std::vector<int32_t> whole = enc.encode(context + continuation);
  out.context = enc.encode(context);
  const size_t n = std::min(out.context.size(), whole.size());
  out.continuation.assign(whole.begin() + n, whole.end());
  // tok_encode with special tokens: BOS in front of both encodings; the split point moves with it.
  if (bos_token >= 0) {
    out.context.insert(out.context.begin(), bos_token);
    return out;
  }
  // A whitespace-only context encodes to nothing once its whitespace has moved; the harness would
  // assert on the empty context, we condition on the prefix token as for an empty one.
  if (out.context.empty()) out.context.push_back(prefix_token);
  return out;
}

std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> rolling_token_windows(
    const std::vector<int32_t>& tokens, int32_t prefix_token, int64_t max_seq_len, int64_t context_len) {
  if (!(1 <= context_len && context_len <= max_seq_len))
    throw std::invalid_argument("rolling_token_windows: need 1 <= context_len <= max_seq_len");
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> out;
  const int64_t n = int64_t(tokens.size());
  if (n == 0) return out;
  const int64_t pred_len = max_seq_len - context_len + 1;  // +1: inputs are shifted from predictions
  // First window: predict the first min(max_seq_len, n) tokens after the prefix.
  const int64_t first = std::min(max_seq_len, n);
  std::vector<int32_t> in{prefix_token};
  in.insert(in.end(), tokens.begin(), tokens.begin() + (first - 1));
  out.emplace_back(std::move(in), std::vector<int32_t>(tokens.begin(), tokens.begin() + first));
  int64_t predicted = first;
  while (predicted < n) {
    const int64_t len = std::min(n - predicted, pred_len);
    const int64_t end = predicted + len;
    // Python slice token_list[end - max_seq_len - 1 : end - 1] (a negative start counts from the end).
    int64_t b = end - max_seq_len - 1, e = end - 1;
    if (b < 0) b = std::max<int64_t>(0, b + n);
    std::vector<int32_t> input =
        b < e ? std::vector<int32_t>(tokens.begin() + b, tokens.begin() + e) : std::vector<int32_t>{};
    out.emplace_back(std::move(input), std::vector<int32_t>(tokens.begin() + (end - len), tokens.begin() + end));
    predicted += len;
  }
  return out;
}

TokenRequest make_disjoint_window(const std::pair<std::vector<int32_t>, std::vector<int32_t>>& window) {
  const auto& [a, b] = window;
  // a[: len(a) - (len(b) - 1)]
  int64_t keep = int64_t(a.size()) - (int64_t(b.size()) - 1);
  keep = std::clamp<int64_t>(keep, 0, int64_t(a.size()));
  return {std::vector<int32_t>(a.begin(), a.begin() + keep), b};
}

std::vector<TokenRequest> rolling_requests(const std::vector<int32_t>& tokens, int32_t prefix_token,
                                           int64_t max_seq_len) {
  std::vector<TokenRequest> out;
  for (const auto& w : rolling_token_windows(tokens, prefix_token, max_seq_len, 1))
    out.push_back(make_disjoint_window(w));
  return out;
}

std::vector<int32_t> model_input(const TokenRequest& r, int64_t max_len) {
  std::vector<int32_t> all(r.context);
  all.insert(all.end(), r.continuation.begin(), r.continuation.end());
  const size_t keep = std::min<size_t>(all.size(), size_t(max_len) + 1);
  std::vector<int32_t> in(all.end() - keep, all.end());
  if (!in.empty()) in.pop_back();
  return in;
}

}  // namespace hld::eval
