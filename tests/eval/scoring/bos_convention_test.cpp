// The BOS conventions of evaluation with a real (randomly initialised) Transformer and a real
// SentencePiece tokenizer: every score is recomputed here by hand from one full forward pass of
// the token sequence the lm-evaluation-harness rule prescribes, written out independently of
// src/eval:
//  - add_bos (HFLM tok_encode with special tokens): context [BOS] + enc(rstrip(ctx)), the
//    continuation what [BOS] + enc(ctx + cont) has past it; the prefix token for empty contexts;
//  - rolling documents: BOS once, as the windows' prefix (enc(doc) scored after BOS), or, with an
//    EOS prefix, BOS inside the document (scored after EOS, as the harness does);
//  - no BOS: contexts as encoded, EOS prefix;
// plus the `auto` rule from the model directory (data_layout.json, HF config.json, import-hf) and
// what eval.json records, through the hld-train binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "../tasks/eval_test_util.h"
#include "hld/eval/convention.h"
#include "hld/eval/metrics.h"
#include "hld/eval/pytext.h"
#include "hld/eval/scoring.h"
#include "hld/model/model_io.h"

namespace hld::eval {
namespace {

using testing::fixture;
using testing::TempDir;

/// Σ log p(ids[j] | ids[<j]) over j >= from, from one forward pass over all of ids.
double manual_logprob(model::Transformer& m, const std::vector<int32_t>& ids, size_t from) {
  torch::NoGradGuard ng;
  std::vector<int64_t> in(ids.begin(), ids.end() - 1);
  const auto logp =
      torch::log_softmax(m->forward(torch::tensor(in).unsqueeze(0)).logits_BxTxV[0].to(torch::kFloat64), -1);
  double s = 0;
  for (size_t j = std::max<size_t>(from, 1); j < ids.size(); ++j) s += logp[int64_t(j) - 1][ids[j]].item<double>();
  return s;
}

std::vector<int32_t> cat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// The harness's (context, continuation) log-likelihood with or without BOS.
double harness_ll(model::Transformer& m, const data::Tokenizer& tok, const TextRequest& r, bool add_bos,
                  int32_t prefix) {
  const std::vector<int32_t> bos = add_bos ? std::vector<int32_t>{tok.bos_id()} : std::vector<int32_t>{};
  if (r.context.empty()) {
    const auto cont = tok.encode(r.continuation);
    return manual_logprob(m, cat({prefix}, cont), 1);
  }
  const std::string ctx = py_rstrip(r.context);
  const std::string cont = r.context.substr(ctx.size()) + r.continuation;
  const auto whole = cat(bos, tok.encode(ctx + cont));
  const auto ctx_enc = cat(bos, tok.encode(ctx));
  EXPECT_FALSE(ctx_enc.empty());
  return manual_logprob(m, whole, ctx_enc.size());
}

struct ConventionFixture : public ::testing::Test {
  TempDir dir;
  static constexpr int64_t V = 512;
  std::unique_ptr<data::Tokenizer> tok;
  model::Transformer m{nullptr};
  config::EvalConfig cfg;
  void SetUp() override {
    tok = std::make_unique<data::Tokenizer>(testing::train_fixture_tokenizer(dir.path(), V));
    ASSERT_EQ(tok->bos_id(), 2);
    ASSERT_EQ(tok->eos_id(), 1);
    torch::manual_seed(11);
    m = model::Transformer(testing::tiny_eval_model(V));
    {
      torch::NoGradGuard ng;
      m->embed_tokens->weight.mul_(40.0);  // logits far from uniform: BOS or not shows in every score
    }
    m->eval();
    cfg.tasks = {{"hellaswag", fixture("hellaswag_val.jsonl")},
                 {"lambada", fixture("lambada_test.jsonl")},
                 {"wikitext", fixture("wiki.test.raw")}};
    cfg.batch_size = 3;
  }
};

TEST_F(ConventionFixture, ScoresFollowTheHarnessRuleForEachConvention) {
  const auto lambada = read_lambada(fixture("lambada_test.jsonl"));
  const auto wiki = read_wikitext(fixture("wiki.test.raw"));
  const auto suite = load_tasks(cfg);
  struct Case {
    std::string add_bos, prefix;
    model::DataLayout layout;
    bool want_bos;
    int32_t want_prefix;
  };
  const std::vector<Case> cases = {
      {"auto", "auto", {true, "train"}, true, 2},    // trained on BOS shards: BOS, BOS prefix
      {"auto", "auto", {false, "train"}, false, 1},  // trained on text EOS: no BOS, EOS prefix
      {"auto", "auto", {}, false, 1},                // no record: as no BOS
      {"true", "eos", {}, true, 1},                  // BOS before contexts, EOS prefix: BOS inside documents
      {"false", "auto", {true, "hf-config"}, false, 2}};
  std::vector<double> lambada_ppl;
  for (const auto& c : cases) {
    SCOPED_TRACE("add_bos " + c.add_bos + ", prefix " + c.prefix + ", layout " + c.layout.source);
    config::EvalConfig e = cfg;
    e.add_bos = c.add_bos;
    e.prefix_token = c.prefix;
    const auto j = run_eval(m, *tok, e, torch::kCPU, 1024, c.layout);
    EXPECT_EQ(j["add_bos"].get<bool>(), c.want_bos);
    EXPECT_EQ(j["prefix_token"].get<int32_t>(), c.want_prefix);
    EXPECT_EQ(j["convention"]["add_bos"].get<bool>(), c.want_bos);
    const auto& t = j["tasks"];

    // LAMBADA: perplexity = exp(−mean log-likelihood of the last word).
    double sum = 0;
    for (const auto& d : lambada) sum += harness_ll(m, *tok, d.request, c.want_bos, c.want_prefix);
    const double ppl = std::exp(-sum / double(lambada.size()));
    EXPECT_NEAR(t["lambada"]["perplexity"].get<double>(), ppl, 1e-5 * ppl);
    lambada_ppl.push_back(ppl);

    // HellaSwag: acc and acc_norm from the hand-computed log-likelihoods.
    double acc = 0, acc_norm = 0;
    for (const auto& d : suite.choice.at(0).docs) {
      std::vector<double> lls;
      for (const auto& r : d.requests) lls.push_back(harness_ll(m, *tok, r, c.want_bos, c.want_prefix));
      const auto o = choice_outcome(d, lls);
      acc += o.acc;
      acc_norm += o.acc_norm;
    }
    const double n = double(suite.choice.at(0).docs.size());
    EXPECT_DOUBLE_EQ(t["hellaswag"]["acc"].get<double>(), acc / n);
    EXPECT_DOUBLE_EQ(t["hellaswag"]["acc_norm"].get<double>(), acc_norm / n);

    // Wikitext, one window per article (window 1024): BOS exactly once per document.
    double wll = 0;
    int64_t scored = 0;
    for (const auto& d : wiki) {
      const auto ids = tok->encode(d.text);
      const bool bos_in_doc = c.want_bos && c.want_prefix != tok->bos_id();
      const auto doc = bos_in_doc ? cat({tok->bos_id()}, ids) : ids;
      wll += manual_logprob(m, cat({c.want_prefix}, doc), 1);
      scored += int64_t(doc.size());
    }
    EXPECT_EQ(t["wikitext"]["tokens"].get<int64_t>(), scored);
    EXPECT_NEAR(t["wikitext"]["log_perplexity"].get<double>(), -wll / double(scored), 1e-5);
  }
  // The conventions are different measurements: BOS or not moves LAMBADA's perplexity.
  EXPECT_GT(std::abs(std::log(lambada_ppl[0] / lambada_ppl[1])), 1e-3);
}

TEST(Convention, ResolvesAutoAndRejectsWhatTheTokenizerLacks) {
  config::EvalConfig c;
  const SpecialTokens gemma{2, 1, 512}, no_bos{-1, 1, 512};
  auto r = resolve_convention(c, true, "import-hf", gemma);
  EXPECT_TRUE(r.add_bos);
  EXPECT_EQ(r.prefix_token, 2);
  EXPECT_NE(r.reason.find("import-hf"), std::string::npos);
  r = resolve_convention(c, false, "train", gemma);
  EXPECT_FALSE(r.add_bos);
  EXPECT_EQ(r.prefix_token, 1);
  r = resolve_convention(c, true, "hf-config", no_bos);  // the harness adds nothing without a BOS
  EXPECT_FALSE(r.add_bos);
  EXPECT_EQ(r.prefix_token, 1);
  c.prefix_token = "7";
  EXPECT_EQ(resolve_convention(c, true, "train", gemma).prefix_token, 7);
  c.prefix_token = "bos";
  EXPECT_EQ(resolve_convention(c, false, "train", gemma).prefix_token, 2);
  testing::expect_input_error([&] { resolve_convention(c, false, "none", no_bos); }, {"eval.prefix_token", "BOS"});
  c.prefix_token = "512";
  testing::expect_input_error([&] { resolve_convention(c, false, "none", gemma); }, {"eval.prefix_token = 512"});
  c.prefix_token = "auto";
  c.add_bos = "true";
  testing::expect_input_error([&] { resolve_convention(c, false, "none", no_bos); }, {"eval.add_bos"});
  EXPECT_TRUE(resolve_convention(c, false, "none", gemma).add_bos);
  EXPECT_EQ(resolve_convention(c, false, "none", gemma).to_json()["bos_token"], 2);
}

TEST(DataLayout, RecordedBesideTheModelAndReadFromHfConfigs) {
  TempDir dir;
  model::Transformer m(testing::tiny_eval_model(64));
  model::save_model_dir(m, dir / "bos", {true, "train"});
  auto l = model::read_data_layout(dir / "bos");
  EXPECT_TRUE(l.bos);
  EXPECT_EQ(l.source, "train");
  const auto j = nlohmann::json::parse(util::read_file(dir / "bos/data_layout.json"));
  EXPECT_EQ(j["bos"], true);
  EXPECT_EQ(j["documents"], "BOS text EOS");
  model::save_model_dir(m, dir / "plain");
  EXPECT_FALSE(model::read_data_layout(dir / "plain").bos);
  // Older model directories have no data_layout.json: no BOS.
  std::filesystem::remove(dir / "plain/data_layout.json");
  l = model::read_data_layout(dir / "plain");
  EXPECT_FALSE(l.bos);
  EXPECT_EQ(l.source, "none");
  // Hugging Face directories: the Gemma family expects BOS, other model types do not.
  l = model::read_data_layout(testing::fixture("../hf_gemma3_tiny"));
  EXPECT_TRUE(l.bos);
  EXPECT_EQ(l.source, "hf-config");
  std::filesystem::create_directories(dir / "hf");
  testing::write_file(dir / "hf/config.json", R"({"model_type": "llama"})");
  EXPECT_FALSE(model::read_data_layout(dir / "hf").bos);
  testing::write_file(dir / "hf/config.json", R"({"model_type": "gemma3", "text_config": {"model_type": "x"}})");
  EXPECT_TRUE(model::read_data_layout(dir / "hf").bos);
  testing::write_file(dir / "bos/data_layout.json", R"({"format": "hld-data-layout", "bos": "yes"})");
  testing::expect_input_error([&] { model::read_data_layout(dir / "bos"); }, {"data_layout.json"});
}

#ifdef HLD_TRAIN_BIN
int run_cli(const std::string& args, const std::string& log) {
  const std::string cmd = std::string(HLD_TRAIN_BIN) + " " + args + " > " + log + " 2>&1";
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(CliEvalConvention, EvalJsonRecordsTheConventionAndBadKeysExitTwo) {
  TempDir dir;
  const std::string tok = testing::train_fixture_tokenizer(dir.path(), 512);
  const std::string hf = testing::fixture("../hf_gemma3_tiny");
  ASSERT_EQ(run_cli("import-hf " + hf + " --out " + dir / "imported", dir / "log0.txt"), 0)
      << util::read_file(dir / "log0.txt");
  const auto layout = model::read_data_layout(dir / "imported");
  EXPECT_TRUE(layout.bos);
  EXPECT_EQ(layout.source, "import-hf");
  torch::manual_seed(3);
  model::Transformer plain(testing::tiny_eval_model(512));
  model::save_model_dir(plain, dir / "plain", {false, "train"});
  const std::string cfg = testing::write_file(dir / "eval.yaml", "run: {dir: " + dir / "run" +
                                                                     ", device: cpu}\n"
                                                                     "data: {tokenizer: " +
                                                                     tok +
                                                                     ", context: 64}\n"
                                                                     "eval:\n"
                                                                     "  tasks: {lambada: " +
                                                                     fixture("lambada_test.jsonl") + "}\n");
  auto eval = [&](const std::string& model, const std::string& sets, const std::string& name) {
    const int rc = run_cli("eval " + cfg + " --checkpoint " + model + " --out " + dir / (name + ".json") + sets,
                           dir / (name + ".txt"));
    EXPECT_EQ(rc, 0) << util::read_file(dir / (name + ".txt"));
    return rc == 0 ? nlohmann::json::parse(util::read_file(dir / (name + ".json")))["eval"] : nlohmann::json();
  };
  for (const auto& [model, name] : {std::pair{hf, "hf"}, std::pair{dir / "imported", "imported"}}) {
    const auto e = eval(model, "", name);
    EXPECT_EQ(e["add_bos"], true) << name;
    EXPECT_EQ(e["prefix_token"], 2) << name;
  }
  EXPECT_NE(eval(hf, "", "hf2")["convention"]["reason"].get<std::string>().find("hf-config"), std::string::npos);
  auto e = eval(dir / "plain", "", "plain");
  EXPECT_EQ(e["add_bos"], false);
  EXPECT_EQ(e["prefix_token"], 1);
  e = eval(dir / "plain", " --set eval.add_bos=true --set eval.prefix_token=eos", "forced");
  EXPECT_EQ(e["add_bos"], true);
  EXPECT_EQ(e["prefix_token"], 1);
  EXPECT_EQ(e["convention"]["bos_token"], 2);

  // Invalid values: exit 2 naming the key, nothing written.
  for (const auto& [set, key] :
       {std::pair{"eval.add_bos=maybe", "eval.add_bos"}, std::pair{"eval.prefix_token=first", "eval.prefix_token"},
        std::pair{"eval.prefix_token=-3", "eval.prefix_token"},
        std::pair{"eval.prefix_token=4096", "eval.prefix_token = 4096"}}) {
    EXPECT_EQ(run_cli("eval " + cfg + " --checkpoint " + dir / "plain" + " --out " + dir / "bad.json" + " --set " + set,
                      dir / "bad.txt"),
              2)
        << set;
    EXPECT_NE(util::read_file(dir / "bad.txt").find(key), std::string::npos) << util::read_file(dir / "bad.txt");
    EXPECT_FALSE(std::filesystem::exists(dir / "bad.json"));
  }
}
#endif  // HLD_TRAIN_BIN

}  // namespace
}  // namespace hld::eval
