// From text requests to token requests, with lm-evaluation-harness's tokenisation rules:
// `_encode_pair` (trailing whitespace of the context moves to the continuation; the continuation
// is what encode(context + continuation) has past encode(context)'s length), the empty-context
// rule (the prefix token stands in for the context), and the rolling windows of
// `loglikelihood_rolling` (`get_rolling_token_windows` + `make_disjoint_window`).
//
// The prefix token: the harness uses the tokenizer's BOS, else EOS (`prefix_token_id` overrides);
// with `add_bos_token` its tok_encode puts BOS before every text it encodes with special tokens.
// hld-train chooses both per model (hld/eval/convention.h) and passes them in.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "hld/eval/tasks.h"

namespace hld::eval {

/// What the request builder needs from a tokenizer: text → ids, no special tokens added.
/// `hld::data::Tokenizer` satisfies it through TokenizerEncoder (hld/eval/tokenizer_encoder.h).
class TextEncoder {
 public:
  virtual ~TextEncoder() = default;
  virtual std::vector<int32_t> encode(const std::string& text) const = 0;
};

/// A TextEncoder from a function (tests, adapters).
class FunctionEncoder : public TextEncoder {
 public:
  explicit FunctionEncoder(std::function<std::vector<int32_t>(const std::string&)> fn) : fn_(std::move(fn)) {}
  std::vector<int32_t> encode(const std::string& text) const override { return fn_(text); }

 private:
  std::function<std::vector<int32_t>(const std::string&)> fn_;
};

/// Token ids of one request: the model reads context + continuation (minus the last token) and
/// scores the continuation tokens.
struct TokenRequest {
  std::vector<int32_t> context;
  std::vector<int32_t> continuation;
};

/// harness `_encode_pair` for a non-empty context; for an empty one the continuation is encoded
/// alone (no special tokens) and `prefix_token` becomes the context (unless the continuation
/// already starts with it, then that first token is the context), as `TemplateLM.loglikelihood`
/// does. A context that encodes to no tokens at all (whitespace only) also gets the prefix token.
/// `bos_token` >= 0 (add_bos): both encodings of `_encode_pair` start with it, as tok_encode with
/// special tokens gives them, so the context is BOS + encode(context) and the continuation split is
/// unchanged. (The harness also skips that BOS for a text that starts with the literal text of the
/// prefix token, e.g. "<bos>"; no task text does.)
TokenRequest encode_request(const TextEncoder& enc, const TextRequest& req, int32_t prefix_token,
                            int32_t bos_token = -1);

/// harness `get_rolling_token_windows(token_list, prefix_token, max_seq_len, context_len)`:
/// (input tokens, predicted tokens) pairs that predict every token exactly once; the first
/// window is conditioned on `prefix_token`. Requires 1 <= context_len <= max_seq_len.
std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> rolling_token_windows(
    const std::vector<int32_t>& tokens, int32_t prefix_token, int64_t max_seq_len, int64_t context_len);

/// harness `make_disjoint_window`: drops from the input the tokens that are also predicted, so
/// (context, continuation) do not overlap.
TokenRequest make_disjoint_window(const std::pair<std::vector<int32_t>, std::vector<int32_t>>& window);

/// The requests `loglikelihood_rolling` scores for one document: disjoint windows with
/// context_len 1 (every window after the first sees max_seq_len tokens; the last one re-reads
/// already-scored tokens as context so that it, too, has a full window).
std::vector<TokenRequest> rolling_requests(const std::vector<int32_t>& tokens, int32_t prefix_token,
                                           int64_t max_seq_len);

/// The model input of a request as the harness builds it: (context + continuation) cut to its
/// last max_len + 1 tokens, minus the last token. The continuation's scores are the last
/// continuation.size() positions of the output.
std::vector<int32_t> model_input(const TokenRequest& r, int64_t max_len);

}  // namespace hld::eval
