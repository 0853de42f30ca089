// Teacher-cache format 3 (issue 20): capture once and sweep k (a k_max cache truncated at load
// equals a cache written at the smaller k, bitwise), several teacher layers for several hidden
// pairs (and the refusal of a layer the cache lacks), the full-vocabulary log-sum-exp (and the
// refusal of tail: bucket on a format-2 cache), `--verify` on all of it, and bitwise resume of
// a two-pair HLDC / HLDF run from a multi-layer cache.
#include <gtest/gtest.h>

#include "cache_test_util.h"
#include "hld/config/hidden_pairs.h"
#include "hld/data/batch_stream.h"
#include "hld/hf/any_model.h"
#include "hld/model/model_io.h"
#include "hld/objectives/losses.h"
#include "hld/teacher/cache_reader.h"
#include "hld/teacher/cache_source.h"
#include "hld/teacher/cache_verify.h"
#include "hld/teacher/cache_writer.h"
#include "hld/util/error.h"

namespace hld::teacher {
namespace {

using testing::CacheWorld;
using testing::first_batch;
using testing::input_error;
using testing::kAll;
using testing::metric_series;
using testing::write_cache;

const char* kTwoPairs = "objective.hidden_pairs=[{student: 1, teacher: 1}, {student: 2, teacher: 4, loss: cosine}]";

TEST(TeacherCacheV3, ACacheAtKmaxServesEverySmallerKBitwise) {
  CacheWorld w;
  const auto big = w.config("kd", "cache", {"objective.top_k=32", "teacher.cache=" + (w.tmp / "k32")});
  ASSERT_EQ(write_cache(big).index.layout.top_k, 32);
  auto [input, ids] = first_batch(big);
  torch::manual_seed(5);
  const auto student_NxV = torch::randn({input.numel(), w.vocab}) * 3;
  for (int64_t k : {1, 4, 8, 31}) {
    const auto small =
        w.config("kd", "cache",
                 {"objective.top_k=" + std::to_string(k), "teacher.cache=" + (w.tmp / ("k" + std::to_string(k)))});
    write_cache(small);
    const auto direct = make_teacher(small, torch::kCPU)->signals(input, ids, {true, false});
    auto swept_cfg = small;
    swept_cfg.teacher.cache = w.tmp / "k32";
    const auto swept = make_teacher(swept_cfg, torch::kCPU)->signals(input, ids, {true, false});
    ASSERT_EQ(swept.vals_NxK.size(1), k);
    EXPECT_TRUE(torch::equal(swept.idx_NxK, direct.idx_NxK)) << "k = " << k;
    EXPECT_TRUE(torch::equal(swept.vals_NxK, direct.vals_NxK)) << "k = " << k;
    const double a = objectives::kd_kl(student_NxV, direct.vals_NxK, direct.idx_NxK, 1.0).item<double>();
    const double b = objectives::kd_kl(student_NxV, swept.vals_NxK, swept.idx_NxK, 1.0).item<double>();
    EXPECT_EQ(a, b) << "k = " << k;  // bitwise the same loss
  }
  const auto too_big = w.config("kd", "cache", {"objective.top_k=33", "teacher.cache=" + (w.tmp / "k32")});
  const std::string e = input_error([&] { make_teacher(too_big, torch::kCPU); });
  EXPECT_NE(e.find("objective.top_k = 33 exceeds the k_max = 32"), std::string::npos) << e;
  EXPECT_NE(e.find(w.tmp / "k32"), std::string::npos) << e;
}

TEST(TeacherCacheV3, TruncationKeepsTheLargestValuesLowerIdOnTies) {
  auto vals = torch::tensor({{1.0f, 5.0f, 3.0f, 5.0f, -2.0f}});
  auto idx = torch::tensor({{2, 7, 9, 11, 40}}, torch::kInt64);
  auto [v, i] = truncate_top_k(vals, idx, 2);
  EXPECT_TRUE(torch::equal(i, torch::tensor({{7, 11}}, torch::kInt64)));
  std::tie(v, i) = truncate_top_k(vals, idx, 3);
  EXPECT_TRUE(torch::equal(i, torch::tensor({{7, 9, 11}}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(v, torch::tensor({{5.0f, 3.0f, 5.0f}})));
  auto tie = torch::tensor({{4.0f, 4.0f, 4.0f}});
  std::tie(v, i) = truncate_top_k(tie, torch::tensor({{3, 5, 8}}, torch::kInt64), 1);
  EXPECT_EQ(i.item<int64_t>(), 3);
}

TEST(TeacherCacheV3, StoresEveryLayerThePairsNeedAndTheLogSumExp) {
  CacheWorld w;
  const auto cfg = w.config("hldc", "cache", {kTwoPairs});
  const auto r = write_cache(cfg);
  EXPECT_EQ(r.index.version, 3);
  EXPECT_EQ(r.index.layers, (std::vector<int64_t>{1, 2, 4}));  // the pairs' 1 and 4, and the default hint 2
  EXPECT_TRUE(r.index.has_logz);
  EXPECT_EQ(r.index.hidden_record_bytes(), 3 * 2 * 32);
  auto [input, ids] = first_batch(cfg);
  auto bucket = cfg;
  bucket.objective.tail = config::TailMode::kBucket;  // the online teacher computes logz_N for it
  const auto cached = make_teacher(bucket, torch::kCPU)->signals(input, ids, {true, true});
  auto online_cfg = bucket;
  online_cfg.teacher.source = "online";
  const auto online = make_teacher(online_cfg, torch::kCPU)->signals(input, ids, {true, true});
  ASSERT_EQ(cached.hidden_NxD.size(), 2u);
  ASSERT_EQ(online.hidden_NxD.size(), 2u);
  for (size_t p = 0; p < 2; ++p)
    EXPECT_TRUE(torch::equal(cached.hidden_NxD[p], online.hidden_NxD[p].to(torch::kBFloat16).to(torch::kFloat32)))
        << "pair " << p;
  EXPECT_FALSE(torch::equal(cached.hidden_NxD[0], cached.hidden_NxD[1]));
  ASSERT_TRUE(cached.logz_N.defined());
  ASSERT_TRUE(online.logz_N.defined());
  EXPECT_EQ(cached.logz_N.sizes(), (std::vector<int64_t>{64}));
  EXPECT_LT((cached.logz_N - online.logz_N).abs().max().item<double>(), 1e-5);
  // logZ ≥ the top logit, and the stored top-k mass is below 1.
  EXPECT_TRUE((cached.logz_N >= std::get<0>(cached.vals_NxK.max(-1)) - 0.1).all().item<bool>());

  // A pair whose teacher layer the cache lacks: named, with the layers it has.
  const auto lacks =
      w.config("hldc", "cache", {"objective.hidden_pairs=[{student: 1, teacher: 1}, {student: 2, teacher: 3}]"});
  const std::string e = input_error([&] { make_teacher(lacks, torch::kCPU); });
  EXPECT_NE(e.find("lacks teacher layer 3 (objective.hidden_pairs[1].teacher)"), std::string::npos) << e;
  EXPECT_NE(e.find("[1, 2, 4]"), std::string::npos) << e;
  EXPECT_NE(e.find(w.cache), std::string::npos) << e;
  // A pair beyond the teacher's depth: the key, before any cache is read.
  const auto deep = w.config("hldc", "cache", {"objective.hidden_pairs=[{student: 1, teacher: 5}]"});
  const std::string e2 = input_error([&] { make_teacher(deep, torch::kCPU); });
  EXPECT_NE(e2.find("objective.hidden_pairs[0].teacher = 5"), std::string::npos) << e2;

  // --verify: every layer against a fresh forward, and the log-sum-exp.
  VerifyOptions vo;
  vo.sample_sequences = 3;
  const auto rep = verify_teacher_cache(cfg, vo);
  ASSERT_TRUE(rep.ok()) << rep.to_json().dump(2);
  EXPECT_EQ(rep.layers, (std::vector<int64_t>{1, 2, 4}));
  EXPECT_GE(rep.hidden_cos_min, 0.999);
  EXPECT_LT(rep.logz_max_abs_err, 1e-4) << rep.to_json().dump(2);
  EXPECT_EQ(rep.topk_same_set, 1.0);
}

TEST(TeacherCacheV3, FormatTwoCachesStillLoadButRefuseTheTailBucket) {
  CacheWorld w;
  const auto v2cfg = w.config("hldc", "cache", {"teacher.cache=" + (w.tmp / "v2")});
  const auto v3cfg = w.config("hldc", "cache", {"teacher.cache=" + (w.tmp / "v3")});
  const auto r2 = write_cache(v2cfg, 16, kAll, -1, 2);
  EXPECT_EQ(r2.index.version, 2);
  EXPECT_FALSE(r2.index.has_logz);
  write_cache(v3cfg);
  auto [input, ids] = first_batch(v2cfg);
  const auto a = make_teacher(v2cfg, torch::kCPU)->signals(input, ids, {true, true});
  const auto b = make_teacher(v3cfg, torch::kCPU)->signals(input, ids, {true, true});
  EXPECT_TRUE(torch::equal(a.vals_NxK, b.vals_NxK));
  EXPECT_TRUE(torch::equal(a.idx_NxK, b.idx_NxK));
  EXPECT_TRUE(torch::equal(a.hidden_NxD.at(0), b.hidden_NxD.at(0)));
  EXPECT_FALSE(a.logz_N.defined());
  // k ≤ k_max works on format 2 as well.
  const auto k4 = w.config("hldc", "cache", {"teacher.cache=" + (w.tmp / "v2"), "objective.top_k=4"});
  EXPECT_EQ(make_teacher(k4, torch::kCPU)->signals(input, ids, {true, false}).vals_NxK.size(1), 4);
  auto bucket = v2cfg;
  bucket.objective.tail = config::TailMode::kBucket;
  const std::string e = input_error([&] { make_teacher(bucket, torch::kCPU); });
  EXPECT_NE(e.find("objective.tail = bucket"), std::string::npos) << e;
  EXPECT_NE(e.find(w.tmp / "v2"), std::string::npos) << e;
  EXPECT_NE(e.find("format version 2"), std::string::npos) << e;
  // Format 3 serves it at the caching temperature only.
  auto hot = v3cfg;
  hot.objective.tail = config::TailMode::kBucket;
  make_teacher(hot, torch::kCPU);
  hot.objective.temperature = 2.0;
  EXPECT_NE(input_error([&] { make_teacher(hot, torch::kCPU); }).find("objective.temperature = 2"), std::string::npos);
  // Format 2 holds one layer: two pairs need format 3.
  EXPECT_NE(input_error([&] {
              write_cache(w.config("hldc", "cache", {kTwoPairs, "teacher.cache=" + (w.tmp / "v2b")}), 16, kAll, -1, 2);
            }).find("one teacher layer"),
            std::string::npos);
  // --verify keeps working on format 2.
  VerifyOptions vo;
  vo.sample_sequences = 2;
  const auto rep = verify_teacher_cache(v2cfg, vo);
  EXPECT_TRUE(rep.ok()) << rep.to_json().dump(2);
  EXPECT_FALSE(rep.has_logz);
}

/// Two pairs (nmse + cosine, one linear and one MLP regressor) from a multi-layer cache: a run
/// stopped and resumed ends bitwise where the straight run does (HLDC, and HLDF across its phases).
void two_pair_resume(const std::string& objective, int64_t stop_at) {
  CacheWorld w;
  const std::string pairs =
      "objective.hidden_pairs=[{student: 1, teacher: 1, regressor: linear}, "
      "{student: 2, teacher: 4, loss: cosine, weight: 0.5, regressor: mlp}]";
  auto with = [&](const std::string& name) {
    return w.config(objective, "cache", {pairs, "run.dir=" + (w.tmp / name), "optimizer.lr=1e-3"});
  };
  const auto straight = with("straight"), resumed = with("resumed");
  write_cache(straight);
  train::TrainOptions t;
  t.quiet = true;
  ASSERT_TRUE(train::run_training(straight, t).finished);
  auto stop = t;
  stop.stop_after_steps = stop_at;
  ASSERT_FALSE(train::run_training(resumed, stop).finished);
  ASSERT_TRUE(train::run_training(resumed, t).finished);
  for (const char* k : {"train/loss", "train/hidden"}) {
    const auto a = metric_series(w.tmp / "straight", k), b = metric_series(w.tmp / "resumed", k);
    EXPECT_FALSE(a.empty()) << k;
    EXPECT_EQ(a, b) << k;
  }
  auto a = hf::load_model_any(w.tmp / "straight"), b = hf::load_model_any(w.tmp / "resumed");
  auto pb = b->named_parameters();
  for (const auto& it : a->named_parameters()) EXPECT_TRUE(torch::equal(it.value(), pb[it.key()])) << it.key();
}

TEST(TeacherCacheTraining, TwoPairHldcResumesBitwiseFromAMultiLayerCache) { two_pair_resume("hldc", 3); }
TEST(TeacherCacheTraining, TwoPairHldfResumesBitwiseFromAMultiLayerCache) { two_pair_resume("hldf", 2); }

}  // namespace
}  // namespace hld::teacher
