// Sampled teacher logits (issue 20 part 2, teacher.logits: sampled), from the estimator to the
// cache: over many independent draws ("caches") of one small teacher the mean sparse loss lies
// within a 4-standard-error interval of the full-vocabulary KL while the top-k renormalised loss
// is biased by many; the draws depend on the seed and the sequence only; the fused training loss
// with counts is that estimate with its exact gradients; a sampled cache trains (bitwise resume),
// matches the online teacher's draws, verifies with the estimator's error, and refuses what it
// cannot serve, naming the key.
#include <gtest/gtest.h>

#include <cmath>

#include "cache_test_util.h"
#include "hld/data/batch_stream.h"
#include "hld/hf/any_model.h"
#include "hld/model/model_io.h"
#include "hld/objectives/chunked_lm_loss.h"
#include "hld/objectives/divergence.h"
#include "hld/objectives/losses.h"
#include "hld/teacher/cache_verify.h"
#include "hld/teacher/cache_writer.h"
#include "hld/teacher/sampled_logits.h"
#include "hld/teacher/teacher.h"
#include "hld/util/error.h"

namespace hld::teacher {
namespace {

using testing::CacheWorld;
using testing::first_batch;
using testing::input_error;
using testing::metric_series;
using testing::write_cache;

TEST(SampledLogits, DrawsAreUniqueIdsWithCounts) {
  auto gen = at::detail::createCPUGenerator(11);
  auto z = torch::tensor({{5.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}});
  const auto s = sample_logits(z, 16, 1.0, gen);
  EXPECT_TRUE(torch::equal(s.counts_NxK.sum(-1), torch::full({2}, 16.0f)));
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t j = 1; j < 16; ++j) {
      const bool repeat = s.idx_NxK[r][j].item<int64_t>() == s.idx_NxK[r][j - 1].item<int64_t>();
      EXPECT_GE(s.idx_NxK[r][j].item<int64_t>(), s.idx_NxK[r][j - 1].item<int64_t>());
      if (repeat) {
        EXPECT_EQ(s.counts_NxK[r][j].item<float>(), 0.0f);
      }
    }
  EXPECT_GE(s.counts_NxK[0][0].item<float>(), 8.0f);  // p(0) = e^5 / (e^5 + 3) ≈ 0.98
  EXPECT_TRUE(torch::allclose(s.vals_NxK, z.gather(1, s.idx_NxK)));
  EXPECT_NEAR(s.logz_N[1].item<double>(), std::log(4.0), 1e-6);
}

TEST(SampledLogits, SparseEstimateIsUnbiasedWhereTopKIsNot) {
  torch::manual_seed(3);
  const int64_t N = 24, V = 64, k = 8;
  for (double tau : {1.0, 2.0}) {
    const auto teacher_NxV = torch::randn({N, V}) * 2.0, student_NxV = torch::randn({N, V}) * 1.5;
    const double kl = full_kd(student_NxV, teacher_NxV, tau).item<double>();
    const int seeds = 400;
    double sum = 0, sum2 = 0;
    for (int s = 0; s < seeds; ++s) {  // independent caches of the same teacher
      auto gen = at::detail::createCPUGenerator(1000 + s);
      const double e = sampled_kd(student_NxV, sample_logits(teacher_NxV, k, tau, gen), tau).item<double>();
      sum += e;
      sum2 += e * e;
    }
    const double mean = sum / seeds, sd = std::sqrt(std::max(0.0, sum2 / seeds - mean * mean));
    const double se = sd / std::sqrt(double(seeds));
    auto [v, i] = objectives::top_k_logits(teacher_NxV, k);
    const double topk = objectives::kd_kl(student_NxV, v, i, tau).item<double>();
    std::printf(
        "[ measured ] tau %.0f, V %lld, k %lld, %d caches: full KL %.5f, sampled mean %.5f (SE %.5f, %+.2f SE), "
        "top-k renormalised %.5f (%+.1f SE)\n",
        tau, (long long)V, (long long)k, seeds, kl, mean, se, (mean - kl) / se, topk, (topk - kl) / se);
    EXPECT_LT(std::abs(mean - kl), 4 * se) << "tau " << tau;  // 4 SE: a false alarm rate of ~6e-5
    EXPECT_GT(std::abs(topk - kl), 10 * se) << "tau " << tau;
  }
}

TEST(SampledLogits, DrawsDependOnTheSeedAndTheSequenceOnly) {
  const int64_t T = 5, k = 7;
  const auto both = draw_uniforms(42, {3, 9}, T, k), nine = draw_uniforms(42, {9}, T, k);
  EXPECT_TRUE(torch::equal(both.narrow(0, T, T), nine));  // another batch, the same draws
  EXPECT_FALSE(torch::equal(both.narrow(0, 0, T), nine));
  EXPECT_FALSE(torch::equal(draw_uniforms(43, {9}, T, k), nine));
  EXPECT_TRUE((both >= 0).all().item<bool>() && (both < 1).all().item<bool>());
  EXPECT_TRUE((both.narrow(1, 1, k - 1) >= both.narrow(1, 0, k - 1)).all().item<bool>());  // ascending rows
  // Inverse CDF: a one-hot teacher gives its id every time; a uniform one spreads the draws.
  auto z = torch::full({1, 6}, -1e4f);
  z[0][4] = 0;
  const auto one = sample_logits(z, draw_uniforms(1, {0}, 1, 32), 1.0);
  EXPECT_TRUE((one.idx_NxK == 4).all().item<bool>());
  EXPECT_EQ(one.counts_NxK[0][0].item<float>(), 32.0f);
  const auto flat = sample_logits(torch::zeros({1, 6}), draw_uniforms(1, {0}, 1, 600), 1.0);
  const auto hist = torch::bincount(flat.idx_NxK[0], {}, 6).to(torch::kFloat64);
  EXPECT_LT((hist / 600.0 - 1.0 / 6).abs().max().item<double>(), 0.06);  // ~4 SE of a multinomial cell
}

/// The fused training loss with draw counts is sampled_kd on the materialised logits, in value and
/// in both gradients, over several row chunks, at τ = 1 and 2 (float64), with the NLL alongside.
TEST(SampledLogits, ChunkedTrainingLossIsTheEstimateWithItsGradients) {
  torch::manual_seed(7);
  const int64_t N = 23, D = 6, V = 40, K = 9;
  for (double tau : {1.0, 2.0}) {
    const auto h0 = torch::randn({N, D}, torch::kFloat64), w0 = torch::randn({V, D}, torch::kFloat64);
    const auto targets = torch::randint(V, {N}, torch::kInt64);
    auto s = sample_logits(torch::randn({N, V}) * 2, K, tau, at::detail::createCPUGenerator(5));
    for (auto* t : {&s.vals_NxK, &s.logz_N, &s.counts_NxK}) *t = t->to(torch::kFloat64);  // all float64
    auto h1 = h0.clone().requires_grad_(true), w1 = w0.clone().requires_grad_(true);
    const auto logits = torch::matmul(h1, w1.t());
    const auto ref = 0.5 * sampled_kd(logits, s, tau) + 0.5 * torch::nn::functional::cross_entropy(logits, targets);
    ref.backward();
    auto h2 = h0.clone().requires_grad_(true), w2 = w0.clone().requires_grad_(true);
    const auto lm = objectives::chunked_lm_loss(h2, w2, targets, s.vals_NxK, s.idx_NxK, tau, /*chunk_rows=*/5, {},
                                                s.logz_N, s.counts_NxK);
    const auto got = 0.5 * lm.kd + 0.5 * lm.nll;
    got.backward();
    EXPECT_NEAR(got.item<double>(), ref.item<double>(), 1e-10) << "tau " << tau;
    EXPECT_LT((h1.grad() - h2.grad()).abs().max().item<double>(), 1e-10) << "tau " << tau;
    EXPECT_LT((w1.grad() - w2.grad()).abs().max().item<double>(), 1e-10) << "tau " << tau;
  }
  // Counts without the log-sum-exp, or with another divergence: refused by name.
  const auto s = sample_logits(torch::randn({4, 10}), 3, 1.0, at::detail::createCPUGenerator(1));
  const auto h = torch::randn({4, 2}), w = torch::randn({10, 2}), t = torch::randint(10, {4}, torch::kInt64);
  EXPECT_THROW(objectives::chunked_lm_loss(h, w, t, s.vals_NxK, s.idx_NxK, 1.0, 4, {}, {}, s.counts_NxK), InputError);
  objectives::DivergenceSpec rev;
  rev.kind = config::Divergence::kReverseKl;
  EXPECT_THROW(objectives::chunked_lm_loss(h, w, t, s.vals_NxK, s.idx_NxK, 1.0, 4, rev, s.logz_N, s.counts_NxK),
               InputError);
}

const std::vector<std::string> kSampled = {"teacher.logits=sampled", "objective.top_k=16", "teacher.sample_seed=11"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(SampledCache, MatchesTheOnlineDrawsAndVerifiesTheEstimator) {
  CacheWorld w;
  for (const char* enc : {"bf16", "logq8"}) {
    SCOPED_TRACE(enc);
    const auto cfg = w.config("kd", "cache",
                              with(kSampled, {std::string("teacher.logits_encoding=") + enc,
                                              "teacher.cache=" + (w.tmp / enc), "objective.temperature=2"}));
    const auto r = write_cache(cfg);
    EXPECT_EQ(r.index.logits_kind, "sampled");
    EXPECT_TRUE(r.index.layout.multiset);
    EXPECT_EQ(r.index.logz_temperature, 2.0);
    EXPECT_EQ(r.index.logz_relative, std::string(enc) == "logq8");
    const auto [input, ids] = first_batch(cfg);
    const auto cached = make_teacher(cfg, torch::kCPU)->signals(input, ids, {true, false});
    auto online_cfg = cfg;
    online_cfg.teacher.source = "online";
    const auto online = make_teacher(online_cfg, torch::kCPU)->signals(input, ids, {true, false});
    ASSERT_TRUE(cached.counts_NxK.defined() && online.counts_NxK.defined());
    EXPECT_TRUE(torch::equal(cached.counts_NxK.sum(-1), torch::full({64}, 16.0f)));
    // The same draws from the same seed and sequences (a batch of 5 rows in the writer, of 4 here).
    EXPECT_GE((cached.idx_NxK == online.idx_NxK).all(-1).to(torch::kFloat64).mean().item<double>(), 0.98);
    EXPECT_TRUE(torch::equal(cached.counts_NxK, run_counts(cached.idx_NxK)));
    // log p_T at the draws, vals/τ − logz, whatever the value encoding (logq8 stores it relative).
    const auto same = (cached.idx_NxK == online.idx_NxK).all(-1);
    const auto lp_c = cached.vals_NxK / 2.0 - cached.logz_N.unsqueeze(1),
               lp_o = online.vals_NxK / 2.0 - online.logz_N.unsqueeze(1);
    // (bf16 keeps 8 significant bits of a logit, |Δz| ≤ 2^-8 |z|, over τ = 2; logq8 a 255th of the range)
    const double bound =
        std::string(enc) == "bf16" ? online.vals_NxK.abs().max().item<double>() / 256 / 2.0 + 1e-4 : 0.05;
    EXPECT_LT((lp_c - lp_o).index({same}).abs().max().item<double>(), bound);

    VerifyOptions vo;
    vo.sample_sequences = 6;
    const auto rep = verify_teacher_cache(cfg, vo);
    ASSERT_TRUE(rep.ok()) << rep.to_json().dump(2);
    EXPECT_TRUE(rep.sampled);
    EXPECT_GE(rep.topk_same_set, 0.98);
    EXPECT_LT(rep.logz_max_abs_err, 1e-4) << rep.to_json().dump(2);
    EXPECT_GT(rep.estimator_se, 0);
    std::printf("[ measured ] %s: sampled - full KD %+.4g (SE %.2g), top-k renormalised - full %+.4g\n", enc,
                rep.estimator_error, rep.estimator_se, rep.topk_bias);
    EXPECT_LT(std::abs(rep.estimator_error), 4 * rep.estimator_se + 0.02) << rep.to_json().dump(2);
    EXPECT_EQ(rep.to_json().at("logits_kind"), "sampled");
  }
}

// Through real caches: 40 sampled caches of one teacher (teacher.sample_seed 0..39) give sparse
// KD losses whose mean is within 4 standard errors (plus the bf16 rounding of the cached logits) of
// the full-vocabulary KL of a fixed student, computed from the teacher's full forward; the top-k
// cache's renormalised loss at the same k is off by far more.
TEST(SampledCache, IndependentCachesEstimateTheFullKlWithoutBias) {
  CacheWorld w;
  const auto base = w.config("kd", "cache", {"objective.top_k=16"});
  const auto [input, ids] = first_batch(base);
  torch::NoGradGuard ng;
  auto teacher = hf::load_model_any(w.teacher);
  teacher->eval();
  const auto t_logits = teacher->forward(input).logits_BxTxV.reshape({-1, w.vocab}).to(torch::kFloat64);
  torch::manual_seed(9);
  const auto s_logits = torch::randn({input.numel(), w.vocab}, torch::kFloat64) * 2;
  const double full = full_kd(s_logits, t_logits, 1.0).item<double>();
  const int caches = 40;
  double sum = 0, sum2 = 0;
  for (int c = 0; c < caches; ++c) {
    auto cfg = w.config("kd", "cache",
                        with(kSampled, {"teacher.sample_seed=" + std::to_string(c),
                                        "teacher.cache=" + (w.tmp / ("s" + std::to_string(c)))}));
    write_cache(cfg);
    const auto sig = make_teacher(cfg, torch::kCPU)->signals(input, ids, {true, false});
    const SampledLogits sl{sig.idx_NxK, sig.counts_NxK, sig.vals_NxK.to(torch::kFloat64),
                           sig.logz_N.to(torch::kFloat64)};
    const double e = sampled_kd(s_logits, sl, 1.0).item<double>();
    sum += e;
    sum2 += e * e;
  }
  const double mean = sum / caches, se = std::sqrt(std::max(0.0, sum2 / caches - mean * mean) / caches);
  write_cache(base);
  const auto top = make_teacher(base, torch::kCPU)->signals(input, ids, {true, false});
  const double topk = objectives::kd_kl(s_logits, top.vals_NxK.to(torch::kFloat64), top.idx_NxK, 1.0).item<double>();
  const double rounding = t_logits.abs().max().item<double>() / 256;  // bf16 values: |Δz| ≤ 2^-8 |z|
  std::printf("[ measured ] %d caches: full KL %.5f, sampled mean %.5f (SE %.5f, %+.2f SE), top-k %.5f (%+.1f SE)\n",
              caches, full, mean, se, (mean - full) / se, topk, (topk - full) / se);
  EXPECT_LT(std::abs(mean - full), 4 * se + rounding);
  EXPECT_GT(std::abs(topk - full), 10 * se + rounding);
}

// The same relative log-sum-exp serves tail: bucket from a logq8 top-k cache (whose values are
// z − z_max): the teacher's log-probabilities match the online teacher's.
TEST(SampledCache, LogQ8TopKCachesServeTheTailBucket) {
  CacheWorld w;
  const auto cfg = w.config("kd", "cache", {"teacher.logits_encoding=logq8", "objective.tail=bucket"});
  EXPECT_TRUE(write_cache(cfg).index.logz_relative);
  const auto [input, ids] = first_batch(cfg);
  const auto cached = make_teacher(cfg, torch::kCPU)->signals(input, ids, {true, false});
  auto online_cfg = cfg;
  online_cfg.teacher.source = "online";
  const auto online = make_teacher(online_cfg, torch::kCPU)->signals(input, ids, {true, false});
  const auto spec = objectives::divergence_spec(cfg.objective);
  const auto lp_c = objectives::teacher_log_probs(spec, cached.vals_NxK, cached.logz_N, 1.0);
  const auto lp_o =
      objectives::teacher_log_probs(spec, std::get<0>(online.vals_NxK.sort(-1)).detach(), online.logz_N, 1.0);
  // (sorted values: the cache orders by id, the online top-k by value; compare the multisets)
  EXPECT_LT((std::get<0>(lp_c.sort(-1)) - lp_o).abs().max().item<double>(), 0.05);
  EXPECT_LT(lp_c.exp().sum(-1).max().item<double>(), 1.0 + 1e-3);  // a top-k mass, below 1
}

TEST(SampledCache, TrainsAndResumesBitwise) {
  CacheWorld w;
  auto cfg_for = [&](const std::string& name) {
    return w.config("kd", "cache", with(kSampled, {"run.dir=" + (w.tmp / name)}));
  };
  const auto straight = cfg_for("straight"), resumed = cfg_for("resumed");
  write_cache(straight);
  train::TrainOptions t;
  t.quiet = true;
  ASSERT_TRUE(train::run_training(straight, t).finished);
  auto stop = t;
  stop.stop_after_steps = 3;
  ASSERT_FALSE(train::run_training(resumed, stop).finished);
  ASSERT_TRUE(train::run_training(resumed, t).finished);
  const auto a = metric_series(w.tmp / "straight", "train/kd"), b = metric_series(w.tmp / "resumed", "train/kd");
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a, b);
  for (double v : a) EXPECT_TRUE(std::isfinite(v) && v > 0);
}

TEST(SampledCache, RefusesWhatItCannotServeNamingTheKey) {
  CacheWorld w;
  const auto cfg = w.config("kd", "cache", kSampled);
  write_cache(cfg);
  auto refused = [&](const std::vector<std::string>& sets, const std::string& want) {
    const std::string e = input_error([&] { make_teacher(w.config("kd", "cache", sets), torch::kCPU); });
    EXPECT_NE(e.find(want), std::string::npos) << e;
  };
  refused({}, "teacher.logits");  // a top-k run on it
  refused({"teacher.logits=sampled", "objective.top_k=8", "teacher.sample_seed=11"}, "objective.top_k = 8");
  refused({"teacher.logits=sampled", "objective.top_k=16"}, "teacher.sample_seed");
  refused(with(kSampled, {"objective.temperature=2"}), "objective.temperature = 2");
  // Configs that sampled logits cannot estimate, before any cache is read.
  for (const auto& [set, key] : std::vector<std::pair<std::string, std::string>>{
           {"objective.divergence=reverse_kl", "objective.divergence = reverse_kl"},
           {"objective.tail=bucket", "objective.tail = bucket"}}) {
    const std::string e = input_error([&] { w.config("kd", "cache", with(kSampled, {set})); });
    EXPECT_NE(e.find(key), std::string::npos) << e;
    EXPECT_NE(e.find("teacher.logits = sampled"), std::string::npos) << e;
  }
}

}  // namespace
}  // namespace hld::teacher
