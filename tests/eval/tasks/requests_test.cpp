// The harness's tokenisation rules: `_encode_pair` (split at the context's token count, trailing
// whitespace moved to the continuation), the empty-context prefix, and rolling-window arithmetic.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <random>

#include "hld/eval/requests.h"

namespace hld::eval {
namespace {

// Greedy longest-match tokenizer over a fixed piece list: enough to show where the harness's
// split lands when a piece straddles the context/continuation boundary.
class PieceEncoder : public TextEncoder {
 public:
  explicit PieceEncoder(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {}
  std::vector<int32_t> encode(const std::string& text) const override {
    std::vector<int32_t> out;
    size_t i = 0;
    while (i < text.size()) {
      int32_t best = -1;
      size_t best_len = 0;
      for (size_t p = 0; p < pieces_.size(); ++p)
        if (pieces_[p].size() > best_len && text.compare(i, pieces_[p].size(), pieces_[p]) == 0)
          best = int32_t(p) + 10, best_len = pieces_[p].size();
      if (best < 0) best = 9, best_len = 1;  // unknown byte
      out.push_back(best);
      i += best_len;
    }
    return out;
  }
  std::vector<std::string> pieces_;
};

using Ids = std::vector<int32_t>;

TEST(EncodePair, SplitsWholeEncodingAtContextLength) {
  // pieces: 10 "a", 11 "b", 12 "c", 13 "ab", 14 " ", 15 " x", 16 "Answer:"
  PieceEncoder enc({"a", "b", "c", "ab", " ", " x", "Answer:"});
  // whole = encode("abc") = [ab, c]; context = encode("a") = [a] (1 token) → continuation = [c]:
  // the harness keeps whole[len(context):], so the merged "ab" token is not scored.
  auto r = encode_request(enc, {"a", "bc"}, 1);
  EXPECT_EQ(r.context, (Ids{10}));
  EXPECT_EQ(r.continuation, (Ids{12}));
  // Trailing whitespace of the context moves to the continuation: "Answer: " + "x" is scored as
  // "Answer:" + " x".
  r = encode_request(enc, {"Answer: ", "x"}, 1);
  EXPECT_EQ(r.context, (Ids{16}));
  EXPECT_EQ(r.continuation, (Ids{15}));
  r = encode_request(enc, {"Answer:\n ", "x"}, 1);  // any str.isspace() character moves
  EXPECT_EQ(r.context, (Ids{16}));
  EXPECT_EQ(r.continuation, (Ids{9, 15}));
}

TEST(EncodePair, EmptyContextUsesPrefixToken) {
  PieceEncoder enc({"a", "b"});
  auto r = encode_request(enc, {"", "ab"}, 1);
  EXPECT_EQ(r.context, (Ids{1}));
  EXPECT_EQ(r.continuation, (Ids{10, 11}));
  // A continuation that already starts with the prefix token gives that token up as the context.
  r = encode_request(enc, {"", "ab"}, 10);
  EXPECT_EQ(r.context, (Ids{10}));
  EXPECT_EQ(r.continuation, (Ids{11}));
}

TEST(EncodePair, WhitespaceOnlyContextFallsBackToPrefix) {
  PieceEncoder enc({"a", " "});
  const auto r = encode_request(enc, {"  ", "a"}, 1);
  EXPECT_EQ(r.context, (Ids{1}));
  EXPECT_EQ(r.continuation, (Ids{11, 11, 10}));  // " ", " ", "a"
}

TEST(RollingWindows, HarnessDocstringExample) {
  // Tokens 0..9, prefix P, max length 4 (lm_eval/api/model.py loglikelihood_rolling docstring).
  const int32_t P = -1;
  Ids toks(10);
  std::iota(toks.begin(), toks.end(), 0);
  const auto w = rolling_token_windows(toks, P, 4, 1);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].first, (Ids{P, 0, 1, 2}));
  EXPECT_EQ(w[0].second, (Ids{0, 1, 2, 3}));
  EXPECT_EQ(w[1].first, (Ids{3, 4, 5, 6}));
  EXPECT_EQ(w[1].second, (Ids{4, 5, 6, 7}));
  EXPECT_EQ(w[2].first, (Ids{5, 6, 7, 8}));
  EXPECT_EQ(w[2].second, (Ids{8, 9}));
  const auto r = rolling_requests(toks, P, 4);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].context, (Ids{P}));
  EXPECT_EQ(r[1].context, (Ids{3}));
  EXPECT_EQ(r[2].context, (Ids{5, 6, 7}));  // the last window re-reads scored tokens as context
  EXPECT_EQ(r[2].continuation, (Ids{8, 9}));
  EXPECT_EQ(model_input(r[2], 4), (Ids{5, 6, 7, 8}));
  EXPECT_EQ(model_input(r[0], 4), (Ids{P, 0, 1, 2}));
}

TEST(RollingWindows, ShortLastWindowGetsFullContext) {
  // 34 tokens, max length 10: three full windows, then 4 tokens scored after 6 re-read ones.
  Ids toks(34);
  std::iota(toks.begin(), toks.end(), 0);
  const auto w = rolling_token_windows(toks, -100, 10, 1);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].first, (Ids{-100, 0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(w[1].first, (Ids{9, 10, 11, 12, 13, 14, 15, 16, 17, 18}));
  EXPECT_EQ(w[2].second, (Ids{20, 21, 22, 23, 24, 25, 26, 27, 28, 29}));
  EXPECT_EQ(w[3].first, (Ids{23, 24, 25, 26, 27, 28, 29, 30, 31, 32}));
  EXPECT_EQ(w[3].second, (Ids{30, 31, 32, 33}));
  EXPECT_EQ(make_disjoint_window(w[3]).context, (Ids{23, 24, 25, 26, 27, 28, 29}));
}

TEST(RollingWindows, LongerContextLen) {
  // context_len 2 → pred_len = 4 - 2 + 1 = 3 tokens per window after the first.
  Ids toks(10);
  std::iota(toks.begin(), toks.end(), 0);
  const auto w = rolling_token_windows(toks, -1, 4, 2);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[1].first, (Ids{2, 3, 4, 5}));
  EXPECT_EQ(w[1].second, (Ids{4, 5, 6}));
  EXPECT_EQ(w[2].first, (Ids{5, 6, 7, 8}));
  EXPECT_EQ(w[2].second, (Ids{7, 8, 9}));
  EXPECT_EQ(make_disjoint_window(w[1]).context, (Ids{2, 3}));
  EXPECT_THROW(rolling_token_windows(toks, -1, 4, 5), std::invalid_argument);
  EXPECT_TRUE(rolling_token_windows({}, -1, 4, 1).empty());
}

TEST(RollingWindows, EveryTokenScoredOnceWithFullContext) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t n = std::uniform_int_distribution<int64_t>(1, 300)(rng);
    const int64_t L = std::uniform_int_distribution<int64_t>(1, 40)(rng);
    Ids toks(n);
    std::iota(toks.begin(), toks.end(), 100);
    const auto reqs = rolling_requests(toks, 7, L);
    EXPECT_EQ(int64_t(reqs.size()), n <= L ? 1 : 1 + (n - L + L - 1) / L);
    Ids scored;
    for (const auto& r : reqs) {
      scored.insert(scored.end(), r.continuation.begin(), r.continuation.end());
      const Ids in = model_input(r, L);
      ASSERT_LE(int64_t(in.size()), L);
      // The input is exactly the tokens before each scored one (prefix for the very first).
      Ids all = r.context;
      all.insert(all.end(), r.continuation.begin(), r.continuation.end());
      EXPECT_EQ(int64_t(r.context.size() + r.continuation.size()) - 1, int64_t(in.size()));
      EXPECT_TRUE(std::equal(in.begin(), in.end(), all.begin()));
    }
    EXPECT_EQ(scored, toks);
    // Every window after the first reads a full L tokens.
    for (size_t k = 1; k < reqs.size(); ++k) EXPECT_EQ(int64_t(model_input(reqs[k], L).size()), L);
  }
}

TEST(ModelInput, TruncatesFromTheLeft) {
  TokenRequest r{{1, 2, 3, 4, 5}, {6, 7}};
  EXPECT_EQ(model_input(r, 4), (Ids{3, 4, 5, 6}));
  EXPECT_EQ(model_input(r, 100), (Ids{1, 2, 3, 4, 5, 6}));
}

}  // namespace
}  // namespace hld::eval
