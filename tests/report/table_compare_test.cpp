// Table rendering, the CSV reader, and the statistics of the KD comparison.
#include <gtest/gtest.h>

#include "hld/report/compare.h"
#include "hld/report/paired.h"
#include "hld/report/table.h"
#include "hld/util/error.h"

namespace hld::report {
namespace {

TEST(ReportTable, CsvRoundTripsQuotesAndCommas) {
  Table t;
  t.header = {"a", "b,c", "d"};
  t.add({"1", "say \"hi\"", "x\ny"});
  t.add({"", "2"});
  const auto rows = parse_csv(t.csv(), "t.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][1], "b,c");
  EXPECT_EQ(rows[1][1], "say \"hi\"");
  EXPECT_EQ(rows[1][2], "x\ny");
  EXPECT_EQ(rows[2][0], "");
  EXPECT_EQ(rows[2][2], "");
}

TEST(ReportTable, CsvReaderRejectsRaggedRowsWithTheLine) {
  try {
    parse_csv("a,b\n1,2\n3\n", "bad.csv");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_csv("a\n\"open", "q.csv"), InputError);
  EXPECT_EQ(parse_csv("a,b\r\n1,2\r\n\r\n", "crlf.csv").size(), 2u);
}

TEST(ReportTable, MarkdownBoldAndAlignment) {
  Table t;
  t.header = {"Method", "C4"};
  t.add({"KD", "3.005"}, {false, true});
  t.add({"NLL", "—"});
  const std::string md = t.markdown();
  EXPECT_NE(md.find("| **3.005** |"), std::string::npos) << md;
  EXPECT_NE(md.find("---:|"), std::string::npos) << md;  // numeric column right-aligned
  EXPECT_NE(md.find("| NLL | — |"), std::string::npos) << md;
}

TEST(ReportCompare, SignTestIsExact) {
  EXPECT_DOUBLE_EQ(sign_test_p(0, 0), 1.0);
  EXPECT_NEAR(sign_test_p(10, 0), 2.0 / 1024.0, 1e-15);
  EXPECT_NEAR(sign_test_p(0, 10), 2.0 / 1024.0, 1e-15);
  EXPECT_DOUBLE_EQ(sign_test_p(5, 5), 1.0);
  // 8 of 10: 2 · (1 + 10 + 45) / 1024 = 0.109375.
  EXPECT_NEAR(sign_test_p(8, 2), 0.109375, 1e-12);
}

TEST(ReportCompare, BootstrapIntervalIsDeterministicAndBracketsTheMean) {
  std::vector<Comparison> cs;
  for (int i = 0; i < 20; ++i) {
    Comparison c;
    c.model = "m";
    c.metric = "c4";
    c.method = "hldf";
    c.reference = "kd";
    c.delta = -(0.01 + 0.001 * (i % 5)) + (i == 3 ? 0.05 : 0.0);  // Δ < 0 (HLDF lower) at 19 of 20
    cs.push_back(c);
  }
  const auto a = summarize(cs, 5000, 1), b = summarize(cs, 5000, 1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].ci_lo, b[0].ci_lo);
  EXPECT_EQ(a[0].ci_hi, b[0].ci_hi);
  EXPECT_LT(a[0].ci_lo, a[0].mean);
  EXPECT_GT(a[0].ci_hi, a[0].mean);
  EXPECT_EQ(a[0].lower, 19);
  EXPECT_EQ(a[0].higher, 1);
  EXPECT_LT(a[0].mean, 0);
  EXPECT_NEAR(a[0].sign_p, 2.0 * 21.0 / 1048576.0, 1e-15);
}

TEST(ReportCompare, PairsFollowSharedHyperParameters) {
  std::vector<RunRecord> runs;
  auto add = [&](const std::string& method, double lr, double alpha, double tau, double c4, uint64_t seed = 0,
                 double p1 = 0.01) {
    RunRecord r;
    r.model = "m";
    r.method = method;
    r.lr = lr;
    r.alpha = alpha;
    r.temperature = tau;
    r.p1 = p1;
    r.seed = seed;
    r.finished = true;
    r.metrics["c4"] = c4;
    runs.push_back(r);
  };
  add("kd", 1e-3, 0.7, 1.0, 3.0);
  add("kd", 1e-3, 0.9, 1.0, 3.2);
  add("kd", 4e-3, 0.7, 1.0, 3.5);
  add("nll", 1e-3, 0.5, 0.5, 3.1);    // α, τ irrelevant for NLL: both KD at η 1e-3 are compared with it
  add("hldf", 1e-3, 0.9, 1.0, 3.15);  // pairs only with KD (1e-3, 0.9, 1.0)
  add("hldf", 1e-3, 0.9, 1.0, 3.25, 0, 0.05);
  const auto pts = group_points(runs);
  const auto cs = pointwise(pts, "c4");
  ASSERT_EQ(cs.size(), 4u);  // KD (2 points) − NLL, HLDF (2 points) − KD; never NLL − KD as well
  int kd_vs_nll = 0, hldf = 0;
  for (const auto& c : cs) {
    EXPECT_NE(c.method, "nll");
    if (c.method == "kd") {
      ++kd_vs_nll;
      EXPECT_EQ(c.reference, "nll");
      EXPECT_DOUBLE_EQ(c.reference_value, 3.1);
      EXPECT_NEAR(c.delta, c.value - 3.1, 1e-12);  // KD − NLL: −0.1 at α 0.7, +0.1 at α 0.9
    }
    if (c.method == "hldf") {
      ++hldf;
      EXPECT_EQ(c.reference, "kd");
      EXPECT_DOUBLE_EQ(c.reference_value, 3.2);
      EXPECT_NEAR(c.delta, c.value - 3.2, 1e-12);
    }
  }
  EXPECT_EQ(kd_vs_nll, 2);
  EXPECT_EQ(hldf, 2);
  const auto sums = summarize(cs, 200, 0);
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums[0].method, "kd");
  EXPECT_EQ(sums[0].reference, "nll");
  EXPECT_EQ(sums[0].lower, 1);
  EXPECT_EQ(sums[0].higher, 1);
  EXPECT_EQ(sums[1].method, "hldf");
  EXPECT_EQ(sums[1].lower, 1);  // P1 0.01: 3.15 < 3.2; P1 0.05: 3.25 > 3.2

  add("kd", 1e-3, 0.9, 1.0, 3.3, 1);
  add("hldf", 1e-3, 0.9, 1.0, 3.28, 1);
  const auto paired = paired_points(group_points(runs), "c4");
  // hldf P1 0.01 has seeds 0 and 1, each paired with the KD run of its seed; P1 0.05 has seed 0
  // only; both KD points at η 1e-3 are paired with NLL (seed 0), and NLL is never paired with KD again.
  int hldf_pairs = 0, kd_pairs = 0;
  for (const auto& p : paired) {
    if (p.method == "hldf" && p.method_point.p1 == 0.01) {
      ++hldf_pairs;
      ASSERT_EQ(p.seeds, (std::vector<uint64_t>{0, 1}));
      EXPECT_NEAR(p.diffs[0], 3.15 - 3.2, 1e-12);
      EXPECT_NEAR(p.diffs[1], 3.28 - 3.3, 1e-12);
      EXPECT_EQ(p.lower, 2);
      EXPECT_EQ(p.diff.kind, "t");
    }
    if (p.method == "kd") {
      ++kd_pairs;
      EXPECT_EQ(p.reference, "nll");
    }
    EXPECT_NE(p.method, "nll");
  }
  EXPECT_EQ(hldf_pairs, 1);
  EXPECT_EQ(kd_pairs, 2);
}

}  // namespace
}  // namespace hld::report
