// TransformerScorer and run_eval with real tiny Transformers:
//  - closed form: zeroed embeddings make every logit exactly 0, so each continuation of n tokens
//    has log-likelihood −n·log V and greedy decoding proposes token 0; run_eval on the task
//    fixtures then gives the accuracies and perplexities that follow from token counts alone;
//  - batching: right padding, many requests per forward and chunked de-embedding give the same
//    scores as one unpadded sequence at a time through the full logits.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

#include "../tasks/eval_test_util.h"
#include "hld/eval/pytext.h"
#include "hld/eval/scoring.h"
#include "hld/eval/tokenizer_encoder.h"

namespace hld::eval {
namespace {

using testing::fixture;
using testing::TempDir;

model::Transformer uniform_model(int64_t vocab) {
  model::Transformer m(testing::tiny_eval_model(vocab));
  torch::NoGradGuard ng;
  m->embed_tokens->weight.zero_();
  return m;
}

std::vector<TokenRequest> random_requests(int n, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> tok(1, int32_t(vocab) - 1);
  std::vector<TokenRequest> out;
  for (int i = 0; i < n; ++i) {
    TokenRequest r;
    const int c = 1 + int(rng() % 12), k = 1 + int(rng() % 6);
    for (int j = 0; j < c; ++j) r.context.push_back(tok(rng));
    for (int j = 0; j < k; ++j) r.continuation.push_back(tok(rng));
    out.push_back(r);
  }
  return out;
}

TEST(TransformerScorer, UniformLogitsGiveMinusNLogV) {
  const int64_t V = 50;
  auto m = uniform_model(V);
  {  // the premise: every logit is exactly zero
    torch::NoGradGuard ng;
    const auto logits = m->forward(torch::randint(0, V, {2, 7}, torch::kInt64)).logits_BxTxV;
    EXPECT_EQ(logits.abs().max().item<float>(), 0.0f);
  }
  auto reqs = random_requests(9, V, 1);
  reqs.push_back({{5, 6}, {0, 0, 0}});  // greedy (argmax over equal logits = id 0) reproduces it
  TransformerScorer s(m, torch::kCPU, 16, 3, /*row_chunk=*/5);
  const auto res = s.score(reqs, "uniform");
  const double logv = -double(torch::log_softmax(torch::zeros({V}), 0)[0].item<float>());
  EXPECT_NEAR(logv, std::log(double(V)), 1e-6);
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_NEAR(res[i].logprob, -double(reqs[i].continuation.size()) * logv, 1e-9) << i;
    EXPECT_EQ(res[i].greedy, i + 1 == reqs.size()) << i;
  }
}

TEST(TransformerScorer, BatchedEqualsOneAtATime) {
  const int64_t V = 50, L = 10;
  torch::manual_seed(3);
  model::Transformer m(testing::tiny_eval_model(V));
  auto reqs = random_requests(11, V, 2);
  reqs.push_back({{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, {14, 15}});  // cut to the last L + 1 tokens
  // Reference: each request alone through the full logits.
  std::vector<double> want;
  std::vector<bool> want_greedy;
  {
    torch::NoGradGuard ng;
    m->eval();
    for (const auto& r : reqs) {
      const auto in = model_input(r, L);
      std::vector<int64_t> ids(in.begin(), in.end());
      const auto logp =
          torch::log_softmax(m->forward(torch::tensor(ids).unsqueeze(0)).logits_BxTxV[0].to(torch::kFloat32), -1);
      const int64_t n = int64_t(in.size()), c = int64_t(r.continuation.size());
      double lp = 0;
      bool g = true;
      for (int64_t j = 0; j < c; ++j) {
        lp += logp[n - c + j][r.continuation[size_t(j)]].item<double>();
        g = g && logp[n - c + j].argmax().item<int64_t>() == r.continuation[size_t(j)];
      }
      want.push_back(lp);
      want_greedy.push_back(g);
    }
    m->train();
  }
  for (int64_t batch : {1, 4, 64})
    for (int64_t chunk : {3, 2048}) {
      TransformerScorer s(m, torch::kCPU, L, batch, chunk);
      const auto got = s.score(reqs, "batched");
      for (size_t i = 0; i < reqs.size(); ++i) {
        EXPECT_NEAR(got[i].logprob, want[i], 2e-5) << "batch " << batch << " request " << i;
        EXPECT_EQ(got[i].greedy, want_greedy[i]);
      }
    }
  EXPECT_TRUE(m->is_training());  // the scorer leaves the model's mode as it found it
}

TEST(TransformerScorer, RejectsIdsOutsideTheVocabulary) {
  auto m = uniform_model(20);
  TransformerScorer s(m, torch::kCPU, 8, 2);
  EXPECT_THROW(s.score({{{1}, {25}}}, "bad"), std::runtime_error);
}

// run_eval on the fixtures with the uniform model and a real SentencePiece tokenizer.
TEST(RunEval, ClosedFormOnFixtures) {
  TempDir dir;
  const int64_t V = 512;
  data::Tokenizer tok(testing::train_fixture_tokenizer(dir.path(), V));
  auto m = uniform_model(V);
  config::EvalConfig cfg;
  cfg.tasks = {{"wikitext", fixture("wiki.test.raw")},          {"hellaswag", fixture("hellaswag_val.jsonl")},
               {"piqa", fixture("piqa_valid.jsonl")},           {"arc_easy", fixture("ARC-Easy-Test.jsonl")},
               {"winogrande", fixture("winogrande_dev.jsonl")}, {"lambada", fixture("lambada_test.jsonl")}};
  cfg.piqa_labels = fixture("piqa_valid-labels.lst");
  cfg.batch_size = 5;
  const auto j = run_eval(m, tok, cfg, torch::kCPU, 64);
  const auto& t = j["tasks"];
  // log V as the float32 log-softmax gives it (differs from the double value in the 8th digit).
  const double logv = -double(torch::log_softmax(torch::zeros({V}), 0)[0].item<float>());
  TokenizerEncoder enc(tok);
  // Multiple choice: the first choice with the fewest continuation tokens (per character for acc_norm).
  const auto suite = load_tasks(cfg);
  for (const auto& task : suite.choice) {
    double acc = 0, acc_norm = 0;
    for (const auto& d : task.docs) {
      size_t best = 0, best_norm = 0;
      std::vector<double> n, per_char;
      for (size_t c = 0; c < d.requests.size(); ++c) {
        n.push_back(double(encode_request(enc, d.requests[c], tok.eos_id()).continuation.size()));
        per_char.push_back(n.back() / double(py_len(d.choices[c])));
        if (n[c] < n[best]) best = c;
        if (per_char[c] < per_char[best_norm]) best_norm = c;
      }
      acc += int64_t(best) == d.gold;
      acc_norm += int64_t(best_norm) == d.gold;
    }
    const double nd = double(task.docs.size());
    EXPECT_DOUBLE_EQ(t[task.name]["acc"].get<double>(), acc / nd) << task.name;
    EXPECT_DOUBLE_EQ(t[task.name]["error"].get<double>(), 1.0 - acc / nd) << task.name;
    if (task.has_acc_norm) {
      EXPECT_DOUBLE_EQ(t[task.name]["acc_norm"].get<double>(), acc_norm / nd) << task.name;
    }
    EXPECT_EQ(t[task.name]["examples"].get<int64_t>(), int64_t(task.docs.size()));
  }
  // Perplexities: every scored token costs log V.
  EXPECT_NEAR(t["wikitext"]["log_perplexity"].get<double>(), logv, 1e-9);
  const double tokens = t["wikitext"]["tokens"].get<double>();
  const double wppl = std::exp(tokens * logv / 172.0);
  EXPECT_NEAR(t["wikitext"]["word_perplexity"].get<double>(), wppl, 1e-9 * wppl);
  EXPECT_NEAR(t["wikitext"]["bits_per_byte"].get<double>(), tokens * logv / std::log(2.0) / 769.0, 1e-9);
  EXPECT_EQ(t["lambada"]["acc"].get<double>(), 0.0);
  EXPECT_NEAR(t["lambada"]["log_perplexity"].get<double>(), logv, 1e-9);
  const auto sum = table2_summary(t);
  EXPECT_DOUBLE_EQ(sum["hellaswag/error"].get<double>(), t["hellaswag"]["error"].get<double>());
  EXPECT_EQ(j["context"].get<int64_t>(), 64);
}

}  // namespace
}  // namespace hld::eval
