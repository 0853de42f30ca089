// A teacher whose vocabulary extends the student's (teacher/shared_vocab.h), on real files: the
// tiny teacher trained on the embedded corpus, padded to 1024 + 64 embedding rows (as Gemma 3 4B's
// 262,208 rows pad the 262,144-piece tokenizer) with its tokenizer beside it. The padded teacher's
// signals equal the unpadded teacher's, its extra-id mass is what a float64 softmax of its full
// logits gives, and KD trains, caches and verifies through the shared range; a run is refused
// (exit 2, naming the key) over teacher.max_extra_vocab_mass, with a tokenizer that disagrees,
// without the teacher's tokenizer, or with a teacher smaller than the student.
#ifdef HLD_TRAIN_BIN
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cache_test_util.h"
#include "hld/config/loader.h"
#include "hld/hf/any_model.h"
#include "hld/model/model_io.h"
#include "hld/teacher/teacher.h"
#include "hld/util/fs.h"
#include "test_util.h"
#include "train/train_fixture.h"

namespace fs = std::filesystem;

namespace hld::teacher {
namespace {

constexpr int64_t kVocab = 1024, kExtra = 64;

/// The tiny teacher with kExtra more embedding rows, saved with `tokenizer` beside it (none: "").
/// The padding rows copy the row of the token the teacher finds least likely on a batch of the
/// corpus (a never-predicted piece), so that the extra ids carry a small, nonzero mass.
std::string padded_teacher(const test::TempDir& tmp, const std::string& name, const std::string& tokenizer) {
  model::Transformer t = hf::load_model_any(test::tiny_teacher());
  t->eval();
  config::ModelConfig mc = t->config();
  mc.vocab_size = kVocab + kExtra;
  model::Transformer p(mc);
  torch::NoGradGuard ng;
  torch::manual_seed(5);
  const auto z_NxV = t->forward(torch::randint(4, kVocab, {2, 64}, torch::kInt64), model::ForwardOptions{})
                         .logits_BxTxV.reshape({-1, kVocab});
  const int64_t rare = z_NxV.mean(0).argmin().item<int64_t>();
  auto src = t->named_parameters();
  for (auto& kv : p->named_parameters()) {
    const torch::Tensor& s = src[kv.key()];
    if (s.sizes() == kv.value().sizes()) {
      kv.value().copy_(s);
    } else {  // the embedding: the teacher's rows, then the padding
      kv.value().narrow(0, 0, kVocab).copy_(s);
      kv.value().narrow(0, kVocab, kExtra).copy_(s[rare].unsqueeze(0).expand({kExtra, s.size(1)}));
    }
  }
  const std::string dir = tmp / name;
  model::save_model_dir(p, dir, model::read_data_layout(model::resolve_model_dir(test::tiny_teacher())));
  if (!tokenizer.empty()) fs::copy_file(tokenizer, dir + "/tokenizer.model", fs::copy_options::overwrite_existing);
  return dir;
}

std::string tok() { return test::small_corpus() + "/tok.model"; }

TEST(TeacherVocabSuperset, SignalsAreTheUnpaddedTeachersAndTheMassIsMeasured) {
  test::TempDir tmp;
  const std::string padded = padded_teacher(tmp, "padded", tok());
  auto cfg = test::tiny_config({"teacher.checkpoint=" + padded, "objective.tail=bucket"});
  auto cfg0 = test::tiny_config({"objective.tail=bucket"});
  const SharedVocab sv = shared_vocab(cfg, teacher_shape(cfg));
  EXPECT_EQ(sv.shared, kVocab);
  EXPECT_EQ(sv.extra(), kExtra);
  SignalRequest req = signal_request(cfg, teacher_shape(cfg)), req0 = signal_request(cfg0, teacher_shape(cfg0));
  ASSERT_TRUE(req.extra);
  ASSERT_FALSE(req0.extra);
  model::Transformer tp = hf::load_model_any(padded), t0 = hf::load_model_any(test::tiny_teacher());
  tp->eval();
  t0->eval();
  torch::manual_seed(3);
  auto ids_BxT = torch::randint(4, kVocab, {4, 64}, torch::kInt64);
  auto s = forward_signals(tp, ids_BxT, {true, true}, req), s0 = forward_signals(t0, ids_BxT, {true, true}, req0);
  EXPECT_TRUE(torch::equal(s.idx_NxK, s0.idx_NxK));
  EXPECT_LT((s.vals_NxK - s0.vals_NxK).abs().max().item<double>(), 1e-5);
  EXPECT_LT((s.logz_N - s0.logz_N).abs().max().item<double>(), 1e-5);  // the shared ids' normaliser
  ASSERT_EQ(s.hidden_NxD.size(), s0.hidden_NxD.size());
  for (size_t p = 0; p < s.hidden_NxD.size(); ++p) EXPECT_TRUE(torch::equal(s.hidden_NxD[p], s0.hidden_NxD[p]));
  // The mass on ids >= 1024, from the padded teacher's full logits in float64.
  torch::NoGradGuard ng;
  auto z_NxV =
      tp->forward(ids_BxT, model::ForwardOptions{}).logits_BxTxV.reshape({-1, kVocab + kExtra}).to(torch::kFloat64);
  auto mass_N = torch::softmax(z_NxV, -1).narrow(1, kVocab, kExtra).sum(1);
  ASSERT_EQ(req.extra->tokens(), mass_N.numel());
  EXPECT_NEAR(req.extra->mean(), mass_N.mean().item<double>(), 1e-6 * mass_N.mean().item<double>() + 1e-12);
  EXPECT_NEAR(req.extra->max(), mass_N.max().item<double>(), 1e-6 * mass_N.max().item<double>() + 1e-12);
  std::cout << "extra-vocabulary mass of the padded tiny teacher: mean " << req.extra->mean() << ", max "
            << req.extra->max() << "\n";
  EXPECT_GT(req.extra->mean(), 1e-8);  // measurable: the tight bound of the CLI test bites
  EXPECT_LT(req.extra->mean(), 1e-2);  // under the default bound
}

struct World {
  test::TempDir tmp;
  std::string cfg, padded;
  World() {
    padded = padded_teacher(tmp, "padded", tok());
    cfg = tmp / "kd.yaml";
    std::ofstream(cfg) << test::tiny_experiment_yaml();
  }
  std::string sets(const std::string& teacher, const std::string& run, const std::string& more = "") const {
    return " --set teacher.checkpoint=" + teacher + " --set run.dir=" + (tmp / run) +
           " --set objective.name=kd --set budget.unit=steps --set budget.amount=4 --set run.log_every=1"
           " --set teacher.cache=" +
           (tmp / "cache") + more;
  }
};

TEST(TeacherVocabSupersetCli, KdCachesVerifyAndFlopsUseTheSharedRange) {
  World w;
  // KD online: the same run as with the unpadded teacher (its signals are the same).
  auto r = test::run_hld("train " + w.cfg + " --quiet" + w.sets(w.padded, "padded"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("probability on the extra vocabulary: mean"), std::string::npos) << r.output;
  r = test::run_hld("train " + w.cfg + " --quiet" + w.sets(test::tiny_teacher(), "plain"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto kd = testing::metric_series(w.tmp / "padded", "train/kd"),
             kd0 = testing::metric_series(w.tmp / "plain", "train/kd");
  ASSERT_EQ(kd.size(), 4u);
  ASSERT_EQ(kd0.size(), 4u);
  for (size_t i = 0; i < kd.size(); ++i) EXPECT_NEAR(kd[i], kd0[i], 1e-4 * std::abs(kd0[i])) << "step " << i + 1;

  // The cache: V_S-ids, the teacher's size and its measured extra mass in the index.
  r = test::run_hld("cache-teacher " + w.cfg + w.sets(w.padded, "cached", " --set teacher.source=cache") +
                    " --sequences 64");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("teacher probability on the extra vocabulary: mean"), std::string::npos) << r.output;
  const auto ix = nlohmann::json::parse(util::read_file(w.tmp / "cache/index.json"));
  EXPECT_EQ(ix["vocab_size"].get<int64_t>(), kVocab);
  EXPECT_EQ(ix["teacher"]["vocab_size"].get<int64_t>(), kVocab + kExtra);
  EXPECT_GT(ix["extra_vocab_mass"]["mean"].get<double>(), 1e-8);
  EXPECT_GT(ix["extra_vocab_mass"]["tokens"].get<int64_t>(), 0);
  r = test::run_hld("cache-teacher " + w.cfg + w.sets(w.padded, "cached", " --set teacher.source=cache") +
                    " --verify --json --sample 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto v = nlohmann::json::parse(r.output.substr(r.output.find('{')), nullptr, false);
  ASSERT_TRUE(v.is_object()) << r.output;
  EXPECT_TRUE(v["ok"].get<bool>()) << r.output;
  EXPECT_EQ(v["sample"]["topk_same_set"].get<double>(), 1.0);
  r = test::run_hld("train " + w.cfg + " --quiet" + w.sets(w.padded, "cached", " --set teacher.source=cache"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto kdc = testing::metric_series(w.tmp / "cached", "train/kd");
  ASSERT_EQ(kdc.size(), 4u);
  EXPECT_NEAR(kdc[0], kd0[0], 2e-2 * std::abs(kd0[0]));  // bf16 values in the cache
  r = test::run_hld("flops " + w.cfg + w.sets(w.padded, "flops", " --set objective.name=hldf --set objective.p1=0.5"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(TeacherVocabSupersetCli, RefusalsNameTheKey) {
  World w;
  // The teacher's mass on the extra ids above the bound: training and caching stop with exit 2.
  const std::string tight = " --set teacher.max_extra_vocab_mass=1e-9";  // below the mass
  auto r = test::run_hld("train " + w.cfg + " --quiet" + w.sets(w.padded, "tight", tight));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("teacher.max_extra_vocab_mass = 1e-09"), std::string::npos) << r.output;
  r = test::run_hld("cache-teacher " + w.cfg + w.sets(w.padded, "tight", tight) + " --sequences 64");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("teacher.max_extra_vocab_mass"), std::string::npos) << r.output;

  // A teacher tokenizer that disagrees on a shared id: another tokenizer of the same size.
  const std::string other = w.tmp / "other_tok";
  r = test::run_hld("tokenizer train --input " + test::repo_path("third_party/corpus/valid.jsonl.gz") +
                    " --vocab-size 1100 --out " + other);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string wrong = padded_teacher(w.tmp, "wrong_tok", other + ".model");
  r = test::run_hld("train " + w.cfg + " --quiet" + w.sets(wrong, "wrong"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("data.tokenizer '"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("disagree: id "), std::string::npos) << r.output;
  r = test::run_hld("cache-teacher " + w.cfg + w.sets(wrong, "wrong") + " --sequences 64");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("disagree: id "), std::string::npos) << r.output;

  // No tokenizer beside the teacher: nothing to check the shared ids against.
  const std::string bare = padded_teacher(w.tmp, "bare", "");
  r = test::run_hld("train " + w.cfg + " --quiet" + w.sets(bare, "bare"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("teacher.checkpoint '" + bare + "'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("has no tokenizer.model"), std::string::npos) << r.output;

  // A student vocabulary beyond the teacher's.
  r = test::run_hld("train " + w.cfg + " --quiet" +
                    w.sets(test::tiny_teacher(), "small", " --set model.vocab_size=1088"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("model.vocab_size = 1088"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hld::teacher
#endif  // HLD_TRAIN_BIN
