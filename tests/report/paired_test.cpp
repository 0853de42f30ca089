// Seed-paired statistics, verdict sentences, loss curves and teacher-inclusive compute, on run
// folders written in the trainer's layout (config.yaml, eval.json, metrics.jsonl).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "hld/report/curves.h"
#include "hld/report/paired.h"
#include "hld/report/teacher_cost.h"
#include "hld/util/error.h"
#include "run_fixtures.h"

namespace hld::report {
namespace {

namespace fs = std::filesystem;

TEST(ReportPaired, StudentTQuantilesMatchTables) {
  // Two-sided 95 % critical values (any statistics table).
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.7062, 1e-4);
  EXPECT_NEAR(student_t_quantile(0.975, 2), 4.30265, 1e-5);
  EXPECT_NEAR(student_t_quantile(0.975, 4), 2.77645, 1e-5);
  EXPECT_NEAR(student_t_quantile(0.975, 30), 2.04227, 1e-5);
  EXPECT_NEAR(student_t_quantile(0.975, 1e6), 1.95996, 1e-4);
  EXPECT_NEAR(student_t_quantile(0.025, 4), -2.77645, 1e-5);
  EXPECT_THROW(student_t_quantile(1.0, 3), std::invalid_argument);
}

TEST(ReportPaired, IntervalIsStudentTBelowFiveSeedsAndBootstrapFrom) {
  const Interval t = mean_interval({-0.10, -0.12, -0.14});
  EXPECT_EQ(t.kind, "t");
  EXPECT_NEAR(t.mean, -0.12, 1e-12);
  // s = 0.02, se = 0.02/√3, t(0.975, 2) = 4.30265.
  EXPECT_NEAR(t.hi - t.mean, 4.30265 * 0.02 / std::sqrt(3.0), 1e-5);
  EXPECT_NEAR(t.mean - t.lo, t.hi - t.mean, 1e-12);
  EXPECT_FALSE(t.covers_zero());

  const Interval b = mean_interval({-0.1, 0.2, -0.3, 0.15, 0.05}, 4000, 7);
  EXPECT_EQ(b.kind, "bootstrap");
  EXPECT_LE(b.lo, b.mean);
  EXPECT_GE(b.hi, b.mean);
  EXPECT_TRUE(b.covers_zero());
  EXPECT_EQ(mean_interval({-0.1}).kind, "none");
}

RunRecord run(const std::string& method, uint64_t seed, double valid, double alpha = 0.5) {
  RunRecord r;
  r.model = "m";
  r.method = method;
  r.lr = 3e-3;
  r.alpha = method == "nll" ? 0 : alpha;
  r.temperature = method == "nll" ? 0 : 1;
  r.p1 = method == "hldf" ? 0.1 : 0;
  r.seed = seed;
  r.finished = true;
  r.metrics["valid"] = valid;
  return r;
}

TEST(ReportPaired, VerdictSentencesComeFromTheNumbers) {
  std::vector<RunRecord> runs;
  const double kd[3] = {3.50, 3.52, 3.49};
  for (uint64_t s = 0; s < 3; ++s) {
    runs.push_back(run("nll", s, kd[s] + 0.30 + 0.01 * s));
    runs.push_back(run("kd", s, kd[s]));
    runs.push_back(run("hldf", s, kd[s] - 0.15 + 0.01 * s));          // lower in every seed
    runs.push_back(run("hldc", s, kd[s] + (s == 1 ? -0.02 : 0.02)));  // mixed signs
  }
  const auto pairs = paired_points(group_points(runs), "valid");
  ASSERT_EQ(pairs.size(), 3u);  // hldc, hldf vs KD; KD vs NLL (each comparison once: no NLL vs KD)
  const auto verdicts = paired_verdicts(pairs);
  ASSERT_EQ(verdicts.size(), 3u);
  for (const auto& v : verdicts) {
    EXPECT_EQ(v.seeds, 3) << v.sentence;
    EXPECT_LE(v.diff.lo, v.diff.mean);
    EXPECT_GE(v.diff.hi, v.diff.mean);
    if (v.method == "hldf") {
      EXPECT_NEAR(v.diff.mean, -0.14, 1e-9);
      EXPECT_EQ(v.lower_runs, 3);
      EXPECT_EQ(v.sentence.find("not distinguishable"), std::string::npos) << v.sentence;
      EXPECT_NE(v.sentence.find("HLDF \xe2\x88\x92 KD on held-out loss: \xe2\x88\x92"
                                "0.140 nats ["),
                std::string::npos)
          << v.sentence;
      EXPECT_NE(v.sentence.find("lower in 3 of 3 seeds"), std::string::npos) << v.sentence;
    }
    if (v.method == "hldc") {
      EXPECT_TRUE(v.diff.covers_zero());
      EXPECT_NE(v.sentence.find("not distinguishable"), std::string::npos) << v.sentence;
      EXPECT_NE(v.sentence.find("lower in 1 of 3 seeds"), std::string::npos) << v.sentence;
    }
    if (v.method == "kd") {
      EXPECT_EQ(v.reference, "nll");
      EXPECT_LT(v.diff.hi, 0) << v.sentence;
      EXPECT_NEAR(v.diff.mean, -0.31, 1e-9);  // KD − NLL: −(0.30 + 0.01 s) averaged over s = 0, 1, 2
      EXPECT_EQ(v.sentence.rfind("KD \xe2\x88\x92 NLL on held-out loss: \xe2\x88\x92"
                                 "0.310 nats [",
                                 0),
                0u)
          << v.sentence;
    }
    EXPECT_NE(v.method, "nll") << "NLL is the reference of KD, never compared with KD a second time";
  }
}

TEST(ReportPaired, ClearEffectsOfBothSignsSayItDependsOnThePoint) {
  std::vector<RunRecord> runs;
  for (uint64_t s = 0; s < 3; ++s)
    for (double alpha : {0.5, 0.9}) {
      runs.push_back(run("kd", s, 3.5 + 0.01 * s, alpha));
      runs.push_back(run("hldc", s, 3.5 + 0.01 * s + (alpha == 0.5 ? -0.10 : 0.05) + 0.002 * s, alpha));
    }
  const auto v = paired_verdicts(paired_points(group_points(runs), "valid"));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].points_below, 1);
  EXPECT_EQ(v[0].points_above, 1);
  EXPECT_NE(v[0].sentence.find("depends on the point"), std::string::npos) << v[0].sentence;
  EXPECT_NE(v[0].sentence.find("below 0 at 1 and above 0 at 1 of 2 points"), std::string::npos) << v[0].sentence;
}

TEST(ReportPaired, OneSeedSaysThereIsNoIntervalAndHowToGetOne) {
  const std::vector<RunRecord> runs = {run("kd", 0, 3.5), run("hldf", 0, 3.4)};
  const auto v = paired_verdicts(paired_points(group_points(runs), "valid"));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].diff.kind, "none");
  EXPECT_EQ(v[0].sentence,
            "HLDF \xe2\x88\x92 KD on held-out loss: \xe2\x88\x92"
            "0.100 nats; one seed gives no interval; for a 95 % "
            "interval run 3 or more seeds: scripts/quickstart.sh --preset study or --seeds N, the grid scripts "
            "--seeds 0,1,2.");
}

TEST(ReportPaired, UnevenSeedsAreCountedPerPoint) {
  // α 0.5 with seeds 0 and 1, α 0.9 with seed 0 only: one seed is shared by every point.
  std::vector<RunRecord> runs = {run("kd", 0, 3.5, 0.5),   run("kd", 1, 3.6, 0.5),   run("kd", 0, 3.5, 0.9),
                                 run("hldc", 0, 3.6, 0.5), run("hldc", 1, 3.7, 0.5), run("hldc", 0, 3.6, 0.9)};
  const auto v = paired_verdicts(paired_points(group_points(runs), "valid"));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].seeds, 1);
  EXPECT_EQ(v[0].runs, 3);
  const std::string& s = v[0].sentence;
  EXPECT_NE(s.find("only one seed is shared by every point: one seed gives no interval"), std::string::npos) << s;
  EXPECT_NE(s.find("lower in 0 of 3 seed pairs (per point 0/1 to 0/2)"), std::string::npos) << s;
  EXPECT_EQ(s.find("at both points"), std::string::npos) << "the points have different seeds: " << s;
}

TEST(ReportPaired, OneSeedOverSeveralPointsCountsPointsNotIntervals) {
  // Four points (four α), one seed each: HLDF lower at 3 of them.
  std::vector<RunRecord> runs;
  const double d[4] = {-0.10, -0.05, -0.02, +0.03};
  int i = 0;
  for (double alpha : {0.5, 0.7, 0.8, 0.9}) {
    runs.push_back(run("kd", 0, 3.5, alpha));
    runs.push_back(run("hldf", 0, 3.5 + d[i++], alpha));
  }
  const auto v = paired_verdicts(paired_points(group_points(runs), "valid"));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].points, 4);
  EXPECT_EQ(v[0].seeds, 1);
  const std::string& s = v[0].sentence;
  EXPECT_NE(s.find("\xe2\x88\x92"
                   "0.035 nats, mean over 4 points; HLDF lower at 3 of 4 points; one seed gives no "
                   "interval"),
            std::string::npos)
      << s;
  EXPECT_EQ(s.find("excludes 0"), std::string::npos) << "no interval, so nothing about intervals excluding 0: " << s;
  EXPECT_EQ(s.find("1 of 1 seeds"), std::string::npos) << s;
}

using testing::write_curve_run;

TEST(ReportCurves, MeanAndBandOverSeedsAndThePhaseBoundary) {
  const std::string root = testing::make_temp_dir("curves");
  testing::FakeRun a;
  a.method = "hldf";
  a.metrics["valid"] = 3.0;
  write_curve_run(root + "/s0", a, {5.0, 4.0, 3.0}, 10, 2);
  a.seed = 1;
  write_curve_run(root + "/s1", a, {5.2, 4.2, 3.2}, 10, 2);
  std::vector<RunRecord> runs = {load_run(root + "/s0"), load_run(root + "/s1")};
  const auto pts = group_points(runs);
  ASSERT_EQ(pts.size(), 1u);
  const auto curves = point_curves(pts[0]);
  ASSERT_EQ(curves.size(), 2u);
  const Curve& v = curves[0];
  ASSERT_EQ(v.kind, "valid");
  ASSERT_EQ(v.points.size(), 3u);
  EXPECT_NEAR(v.points[1].mean, 4.1, 1e-9);
  EXPECT_NEAR(v.points[1].lo, 4.0, 1e-9);
  EXPECT_NEAR(v.points[1].hi, 4.2, 1e-9);
  EXPECT_EQ(v.points[1].n, 2);
  ASSERT_TRUE(v.phase_end_flops.has_value());
  EXPECT_DOUBLE_EQ(*v.phase_end_flops, 20);        // the last "hint" record: step 2 × 10 FLOPs
  EXPECT_NEAR(*flops_to_reach(v, 3.6), 50, 1e-9);  // between 40 (4.1) and 60 (3.1)
  EXPECT_FALSE(flops_to_reach(v, 3.0).has_value());
  EXPECT_NEAR(*value_at(v, 30), 4.6, 1e-9);
  EXPECT_FALSE(value_at(v, 70).has_value());
  const Curve& tr = curves[1];
  ASSERT_EQ(tr.kind, "train");
  ASSERT_EQ(tr.points.size(), 3u);
  EXPECT_NEAR(tr.points[0].mean, 5.2, 1e-9);  // train/nll, not train/loss
  fs::remove_all(root);
}

TEST(ReportTeacherCost, BreakEvenFromTheCurvesAndTheTeacherCharge) {
  const std::string root = testing::make_temp_dir("tcost");
  // Teacher: 1000 FLOPs of pre-training; cache: 200 FLOPs (cost.json from cache-teacher).
  testing::FakeRun t;
  t.method = "nll";
  t.model = "teacher";
  t.flops = 1000;
  t.metrics["valid"] = 2.0;
  testing::write_run(root + "/teacher", t);
  fs::create_directories(root + "/cache");
  util::write_file_atomic(root + "/cache/cost.json", R"({"flops": 200, "tokens": 100})");
  testing::FakeRun n;
  n.method = "nll";
  n.metrics["valid"] = 4.0;
  write_curve_run(root + "/nll", n, {5.0, 4.5, 4.0}, 100);  // 600 FLOPs in all
  testing::FakeRun k;
  k.method = "kd";
  k.alpha = 0.5;
  k.metrics["valid"] = 3.5;
  write_curve_run(root + "/kd", k, {4.6, 4.0, 3.5}, 100, 0, root + "/cache");  // reaches 4.0 at 400 FLOPs

  std::vector<RunRecord> runs = {load_run(root + "/nll"), load_run(root + "/kd")};
  RunRecord teacher = load_run(root + "/teacher");
  teacher.method = "teacher";
  const TeacherCharge c = teacher_charge(runs[1], {teacher});
  EXPECT_TRUE(c.pretrain_known && c.cache_known);
  EXPECT_DOUBLE_EQ(c.total(), 1200);

  const auto pts = group_points(runs);
  std::vector<Curve> curves;
  for (const auto& p : pts)
    for (auto& c : point_curves(p)) curves.push_back(c);
  // Saving 600 − 400 = 200 FLOPs a student against a 1200-FLOPs teacher: break-even N = 6, so KD
  // is cheaper from 7 students on.
  const auto full = teacher_cost_section(pts, "valid", curves, {teacher}, parse_teacher_cost("full"));
  EXPECT_NE(full.markdown.find("break-even N = 6.0"), std::string::npos) << full.markdown;
  EXPECT_NE(full.markdown.find("at least 7 students"), std::string::npos) << full.markdown;
  EXPECT_NE(full.markdown.find("teacher alone exceeds NLL's compute"), std::string::npos) << full.markdown;
  // Shared by 12 students: KD is charged 100 FLOPs and reads its curve at 500: 3.75, ranked first.
  const auto shared = teacher_cost_section(pts, "valid", curves, {teacher}, parse_teacher_cost("amortize:12"));
  ASSERT_EQ(shared.csv.rows.size(), 2u);
  EXPECT_EQ(shared.csv.rows[0][1], "kd");
  EXPECT_EQ(shared.csv.rows[0].back(), "3.75");
  EXPECT_EQ(shared.csv.rows[1][1], "nll");

  EXPECT_THROW(parse_teacher_cost("amortize:0"), InputError);
  EXPECT_THROW(parse_teacher_cost("half"), InputError);
  fs::remove_all(root);
}

TEST(ReportVariants, ADivergenceIsAPointOfItsOwnComparedWithThePapersKd) {
  const std::string root = testing::make_temp_dir("variants");
  for (uint64_t seed : {0, 1}) {
    testing::FakeRun kd;
    kd.method = "kd";
    kd.seed = seed;
    kd.metrics["valid"] = 3.5 + 0.01 * seed;
    const std::string plain = root + "/kd_s" + std::to_string(seed), rev = root + "/kd_rev_s" + std::to_string(seed);
    testing::write_run(plain, kd);
    kd.metrics["valid"] = 3.45 + 0.01 * seed;
    testing::write_run(rev, kd);
    std::string y = util::read_file(rev + "/config.yaml");
    y.replace(y.find("  name: kd\n"), 11, "  name: kd\n  divergence: reverse_kl\n");
    util::write_file_atomic(rev + "/config.yaml", y);
  }
  std::vector<RunRecord> runs;
  for (const auto& d : find_run_dirs({root})) runs.push_back(load_run(d));
  const auto pts = group_points(runs);
  ASSERT_EQ(pts.size(), 2u) << "the variant is not averaged into the paper's KD as if it were a seed";
  EXPECT_EQ(point_label(pts[0].key), "KD");
  EXPECT_EQ(point_label(pts[1].key), "KD [reverse_kl]");
  EXPECT_EQ(point_id(pts[1].key), "kd[reverse_kl]");  // CSV cells tell the variant apart too
  const auto pairs = paired_points(pts, "valid");
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].reference, "kd");
  EXPECT_EQ(pairs[0].method_point.variant, "reverse_kl");
  EXPECT_EQ(pairs[0].lower, 2);
  const auto v = paired_verdicts(pairs);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].sentence.rfind("KD [reverse_kl] \xe2\x88\x92 KD on held-out loss", 0), 0u) << v[0].sentence;
  fs::remove_all(root);
}

}  // namespace
}  // namespace hld::report
