// The evaluation driver end to end on the fixtures with a real SentencePiece tokenizer and a
// closed-form scorer: uniform next-token probabilities 1/V, so every continuation of n tokens has
// log-likelihood −n·log V and greedy decoding always proposes token 0 (torch's argmax over equal
// logits). Accuracies and perplexities then follow from token counts alone.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "eval_test_util.h"
#include "hld/data/shards.h"
#include "hld/data/tokenizer.h"
#include "hld/eval/harness.h"
#include "hld/eval/pytext.h"
#include "hld/eval/tokenizer_encoder.h"
#include "hld/util/fs.h"

namespace hld::eval {
namespace {

using testing::expect_input_error;
using testing::fixture;
using testing::TempDir;
using testing::write_file;

constexpr int64_t kVocab = 512;

class UniformScorer : public Scorer {
 public:
  explicit UniformScorer(int64_t max_len) : max_len_(max_len) {}
  std::vector<ScoreResult> score(const std::vector<TokenRequest>& reqs, const std::string&) override {
    std::vector<ScoreResult> out;
    for (const auto& r : reqs) {
      EXPECT_FALSE(r.context.empty());
      EXPECT_LE(int64_t(model_input(r, max_len_).size()), max_len_);
      bool greedy = true;
      for (int32_t t : r.continuation) greedy = greedy && t == 0;
      out.push_back({-double(r.continuation.size()) * std::log(double(kVocab)), greedy});
      ++calls_;
    }
    return out;
  }
  int64_t max_length() const override { return max_len_; }
  int64_t calls_ = 0;

 private:
  int64_t max_len_;
};

// A small unigram model trained once for the suite.
class HarnessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    tok_ = new data::Tokenizer(testing::train_fixture_tokenizer(dir_->path(), kVocab));
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete dir_;
  }
  static TempDir* dir_;
  static data::Tokenizer* tok_;
};
TempDir* HarnessTest::dir_ = nullptr;
data::Tokenizer* HarnessTest::tok_ = nullptr;

HarnessOptions opts() {
  HarnessOptions o;
  o.prefix_token = 1;
  o.eos_token = 1;
  return o;
}

TEST_F(HarnessTest, ChoiceTasksFollowTokenCounts) {
  TokenizerEncoder enc(*tok_);
  UniformScorer scorer(64);
  for (const auto& task :
       {read_hellaswag(fixture("hellaswag_val.jsonl")),
        read_piqa(fixture("piqa_valid.jsonl"), fixture("piqa_valid-labels.lst")),
        read_arc(fixture("ARC-Easy-Test.jsonl")), read_winogrande(fixture("winogrande_dev.jsonl"))}) {
    // Prediction: the first choice with the fewest continuation tokens (acc), the first with the
    // fewest tokens per character (acc_norm).
    double acc = 0, acc_norm = 0;
    for (const auto& d : task.docs) {
      size_t best = 0, best_norm = 0;
      std::vector<double> n, per_char;
      for (size_t c = 0; c < d.requests.size(); ++c) {
        n.push_back(double(encode_request(enc, d.requests[c], 1).continuation.size()));
        per_char.push_back(n.back() / double(py_len(d.choices[c])));
        if (n[c] < n[best]) best = c;
        if (per_char[c] < per_char[best_norm]) best_norm = c;
      }
      acc += int64_t(best) == d.gold;
      acc_norm += int64_t(best_norm) == d.gold;
    }
    acc /= double(task.docs.size());
    acc_norm /= double(task.docs.size());
    const auto j = evaluate_choice(scorer, enc, task, opts());
    EXPECT_DOUBLE_EQ(j["acc"].get<double>(), acc) << task.name;
    EXPECT_DOUBLE_EQ(j["error"].get<double>(), 1.0 - acc) << task.name;
    EXPECT_EQ(j["examples"].get<int64_t>(), int64_t(task.docs.size()));
    EXPECT_EQ(j.contains("acc_norm"), task.has_acc_norm) << task.name;
    if (task.has_acc_norm) {
      EXPECT_DOUBLE_EQ(j["acc_norm"].get<double>(), acc_norm) << task.name;
    }
  }
}

TEST_F(HarnessTest, WikitextClosedForm) {
  TokenizerEncoder enc(*tok_);
  const auto docs = read_wikitext(fixture("wiki.test.raw"));
  int64_t tokens = 0, words = 0, bytes = 0;
  for (const auto& d : docs) {
    tokens += int64_t(tok_->encode(d.text).size());
    words += d.words;
    bytes += d.bytes;
  }
  for (int64_t L : {8, 64, 4096}) {  // the window changes nothing when every token costs log V
    UniformScorer scorer(L);
    const auto j = evaluate_wikitext(scorer, enc, docs, "wiki.test.raw", opts());
    const double logv = std::log(double(kVocab));
    EXPECT_NEAR(j["log_perplexity"].get<double>(), logv, 1e-12);
    EXPECT_NEAR(j["word_perplexity"].get<double>(), std::exp(double(tokens) * logv / double(words)), 1e-6);
    EXPECT_NEAR(j["byte_perplexity"].get<double>(), std::exp(double(tokens) * logv / double(bytes)), 1e-9);
    EXPECT_NEAR(j["bits_per_byte"].get<double>(), double(tokens) * std::log2(double(kVocab)) / double(bytes), 1e-12);
    EXPECT_EQ(j["tokens"].get<int64_t>(), tokens);
    EXPECT_EQ(j["words"].get<int64_t>(), 172);
    EXPECT_EQ(j["bytes"].get<int64_t>(), 769);
    int64_t windows = 0;  // one per max_length tokens, at least one per non-empty document
    for (const auto& d : docs) {
      const int64_t n = int64_t(tok_->encode(d.text).size());
      windows += n == 0 ? 0 : 1 + (n - 1) / L;
    }
    EXPECT_EQ(scorer.calls_, windows);
  }
}

TEST_F(HarnessTest, LambadaClosedForm) {
  TokenizerEncoder enc(*tok_);
  UniformScorer scorer(4096);
  const auto docs = read_lambada(fixture("lambada_test.jsonl"));
  double sum_n = 0;
  for (const auto& d : docs) sum_n += double(encode_request(enc, d.request, 1).continuation.size());
  const auto j = evaluate_lambada(scorer, enc, docs, "lambada_test.jsonl", opts());
  EXPECT_EQ(j["acc"].get<double>(), 0.0);  // greedy proposes <pad>, never the last word
  EXPECT_EQ(j["error"].get<double>(), 1.0);
  EXPECT_NEAR(j["perplexity"].get<double>(), std::exp(sum_n / 3.0 * std::log(double(kVocab))), 1e-6);
  EXPECT_NEAR(j["log_perplexity"].get<double>(), std::log(double(kVocab)), 1e-12);
}

TEST_F(HarnessTest, C4AppendsEosAndStreamsInChunks) {
  TokenizerEncoder enc(*tok_);
  UniformScorer scorer(16);
  const auto path = write_file(*dir_ / "c4-validation.jsonl",
                               "{\"text\": \"The river ran under the small town.\", \"url\": \"u\"}\n"
                               "{\"text\": \"Boats left the harbour before light.\"}\n"
                               "not json\n"
                               "{\"text\": \"A song about a stone tree.\"}\n");
  auto o = opts();
  o.c4_chunk_docs = 2;
  const auto j = evaluate_c4(scorer, enc, path, 0, o);
  int64_t tokens = 0;
  for (const char* t :
       {"The river ran under the small town.", "Boats left the harbour before light.", "A song about a stone tree."})
    tokens += int64_t(tok_->encode(t).size()) + 1;  // + EOS
  EXPECT_EQ(j["tokens"].get<int64_t>(), tokens);
  EXPECT_EQ(j["examples"].get<int64_t>(), 3);
  EXPECT_EQ(j["skipped"].get<int64_t>(), 1);
  EXPECT_NEAR(j["log_perplexity"].get<double>(), std::log(double(kVocab)), 1e-12);
  EXPECT_EQ(evaluate_c4(scorer, enc, path, 1, o)["examples"].get<int64_t>(), 1);
}

TEST_F(HarnessTest, ValidShardsScoreEveryNextToken) {
  const std::string split = *dir_ / "prep/valid";
  {
    data::ShardWriter w(split, "valid", tok_->hash(), kVocab, 1, 1 << 20, [] { return nlohmann::json::object(); });
    for (int d = 0; d < 5; ++d) {
      std::vector<int32_t> doc;
      for (int i = 0; i < 7 + d; ++i) doc.push_back(10 + (d * 13 + i) % 300);
      w.add_document(doc, "mem");
    }
    w.finish(nlohmann::json::object());
  }
  const int64_t total = 7 + 8 + 9 + 10 + 11 + 5;  // documents + one EOS each
  UniformScorer scorer(8);
  const auto j = evaluate_shards(scorer, *dir_ / "prep", 0);  // the prepared dir resolves to valid/
  const int64_t n = (total - 1) / 8;
  EXPECT_EQ(j["examples"].get<int64_t>(), n);
  EXPECT_EQ(j["tokens"].get<int64_t>(), n * 8);
  EXPECT_NEAR(j["log_perplexity"].get<double>(), std::log(double(kVocab)), 1e-12);
  EXPECT_EQ(j["file"].get<std::string>(), split);
  EXPECT_EQ(evaluate_shards(scorer, split, 2)["examples"].get<int64_t>(), 2);
  expect_input_error([&] { shard_split_dir(dir_->path()); }, {"valid_shards"});
}

TEST_F(HarnessTest, SuiteFromConfig) {
  config::EvalConfig cfg;
  cfg.tasks = {{"wikitext", fixture("wiki.test.raw")},          {"hellaswag", fixture("hellaswag_val.jsonl")},
               {"piqa", fixture("piqa_valid.jsonl")},           {"arc_easy", fixture("ARC-Easy-Test.jsonl")},
               {"winogrande", fixture("winogrande_dev.jsonl")}, {"lambada", fixture("lambada_test.jsonl")}};
  cfg.piqa_labels = fixture("piqa_valid-labels.lst");
  cfg.max_examples = 2;
  const auto suite = load_tasks(cfg);
  TokenizerEncoder enc(*tok_);
  UniformScorer scorer(128);
  const auto j = run_tasks(scorer, enc, suite, opts());
  for (const char* k : {"wikitext", "hellaswag", "piqa", "arc_easy", "winogrande", "lambada"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j[k]["examples"].get<int64_t>(), 2) << k;
  }
  // Bad input is found before anything is scored.
  cfg.piqa_labels = "";
  expect_input_error([&] { load_tasks(cfg); }, {"eval.piqa_labels"});
  cfg.tasks = {};
  expect_input_error([&] { load_tasks(cfg); }, {"eval.tasks"});
  cfg.tasks = {{"c4", *dir_ / "absent.json.gz"}};
  expect_input_error([&] { load_tasks(cfg); }, {"absent.json.gz"});
}

TEST_F(HarnessTest, ContinuationLongerThanWindowIsInputError) {
  TokenizerEncoder enc(*tok_);
  UniformScorer scorer(2);
  const auto t = read_hellaswag(fixture("hellaswag_val.jsonl"), 1);
  expect_input_error([&] { evaluate_choice(scorer, enc, t, opts()); }, {"eval.context"});
}

}  // namespace
}  // namespace hld::eval
