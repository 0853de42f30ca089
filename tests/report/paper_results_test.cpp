// The paper's shipped tables: the compiled-in copy equals configs/paper/results/, Tables 4/5 hold
// the Table 1 grid, and the report's own best-point code applied to Table 4 (through real run
// folders) and Table 5 gives back Table 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "hld/report/compare.h"
#include "hld/report/paper_results.h"
#include "hld/report/tables.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "run_fixtures.h"

namespace hld::report {
namespace {

TEST(PaperResults, CompiledCopyEqualsShippedFiles) {
  ASSERT_EQ(paper_csv_files().size(), 3u);
  for (const auto& [name, text] : paper_csv_files())
    EXPECT_EQ(text, util::read_file(std::string(HLD_SOURCE_DIR) + "/configs/paper/results/" + name)) << name;
  EXPECT_THROW(paper_csv("nope.csv"), InputError);
  EXPECT_THROW(paper_runs("1b"), InputError);
  EXPECT_EQ(paper_size("123M"), "123m");
}

TEST(PaperResults, TablesFourAndFiveHoldTheTable1Grid) {
  for (const char* size : {"123m", "735m"}) {
    const auto runs = paper_runs(size);
    ASSERT_EQ(runs.size(), 63u) << size;
    std::map<std::string, int> per_method;
    std::set<PointKey> keys;
    for (const auto& r : runs) {
      per_method[r.method] += 1;
      keys.insert(point_key(r));
      EXPECT_EQ(r.metrics.size(), 7u);
      EXPECT_TRUE(r.lr == 1e-4 || r.lr == 4e-4 || r.lr == 16e-4) << r.lr;
      if (r.method != "nll") {
        EXPECT_TRUE(r.alpha == 0.7 || r.alpha == 0.9);
        EXPECT_TRUE(r.temperature == 0.5 || r.temperature == 1.0);
      }
      if (r.method == "hldc") {
        EXPECT_TRUE(r.gamma == 0.05 || r.gamma == 0.1);
      }
      if (r.method == "hldf") {
        const double other = std::string(size) == "123m" ? 0.05 : 0.04;
        EXPECT_TRUE(r.p1 == 0.01 || r.p1 == other) << r.p1;
      }
    }
    EXPECT_EQ(keys.size(), 63u);  // all distinct points
    EXPECT_EQ(per_method["nll"], 3);
    EXPECT_EQ(per_method["kd"], 12);
    EXPECT_EQ(per_method["hldc"], 24);
    EXPECT_EQ(per_method["hldf"], 24);
  }
}

void expect_table2(const std::vector<Point>& points, const std::string& size) {
  const auto best = best_points(points, "c4");
  ASSERT_EQ(best.size(), 4u);
  for (const auto& row : paper_table2(size)) {
    if (row.method == "random" || row.method == "teacher") continue;
    const Point* p = nullptr;
    for (const Point* b : best)
      if (b->key.method == row.method) p = b;
    ASSERT_NE(p, nullptr) << row.method;
    // C4 (the selection metric) exactly; the other columns to the paper's own rounding (Table 2
    // prints 123M NLL HSwag .644 and HLDF .626 where Table 4 has 0.643 and 0.625).
    EXPECT_NEAR(p->mean.at("c4"), row.metrics.at("c4"), 1e-9) << size << " " << row.method;
    for (const auto& [id, v] : row.metrics)
      EXPECT_NEAR(p->mean.at(id), v, 0.0011) << size << " " << row.method << " " << id;
  }
}

TEST(PaperResults, Table4RunFoldersReproduceTable2For123M) {
  // The paper's Table 4 rows as run folders, read back through load_run like real runs.
  const std::string root = testing::make_temp_dir("table4");
  int i = 0;
  for (const auto& r : paper_runs("123m")) {
    testing::FakeRun f;
    f.model = "student_123m";
    f.method = r.method;
    f.lr = r.lr;
    f.alpha = r.alpha;
    f.temperature = r.temperature;
    f.gamma = r.gamma;
    f.p1 = r.p1;
    f.metrics = r.metrics;
    testing::write_run(root + "/run" + std::to_string(i++), f);
  }
  std::vector<RunRecord> runs;
  for (const auto& d : find_run_dirs({root})) runs.push_back(load_run(d));
  ASSERT_EQ(runs.size(), 63u);
  const auto points = group_points(runs);
  ASSERT_EQ(points.size(), 63u);
  EXPECT_EQ(selection_metric(points), "c4");
  expect_table2(points, "123m");
  // Spelled out: KD 3.005, HLDC 3.005, HLDF 3.000, NLL 3.063.
  const auto best = best_points(points, "c4");
  EXPECT_DOUBLE_EQ(best[0]->mean.at("c4"), 3.063);
  EXPECT_DOUBLE_EQ(best[1]->mean.at("c4"), 3.005);
  EXPECT_DOUBLE_EQ(best[2]->mean.at("c4"), 3.005);
  EXPECT_DOUBLE_EQ(best[3]->mean.at("c4"), 3.000);
  EXPECT_EQ(describe_point(best[3]->key), "η 0.0016, α 0.7, τ 1, P1 0.05");
  std::filesystem::remove_all(root);
}

TEST(PaperResults, Table5ReproducesTable2For735M) {
  const auto runs = paper_runs("735m");
  expect_table2(group_points(runs), "735m");
}

TEST(PaperResults, PaperSignCountsOnC4) {
  // Counted by hand from Table 4 (Δ = method − reference on C4 at shared (η, τ, α)): HLDF is
  // below KD at 23 of 24 points, HLDC at none (15 above, 9 ties); KD is below NLL at 5 of 12
  // (each KD point against the NLL point at its η: 0 of 4 at η 1e-4, 2 of 4 at 4e-4, 3 of 4 at
  // 1.6e-3; NLL is lower at the other 7).
  const auto runs = paper_runs("123m");
  const auto sums = summarize(pointwise(group_points(runs), "c4"), 2000, 0);
  ASSERT_EQ(sums.size(), 3u);
  EXPECT_EQ(sums[0].method, "kd");
  EXPECT_EQ(sums[0].reference, "nll");
  EXPECT_EQ(sums[0].n, 12);
  EXPECT_EQ(sums[0].lower, 5);
  EXPECT_EQ(sums[0].higher, 7);
  EXPECT_EQ(sums[1].method, "hldc");
  EXPECT_EQ(sums[1].lower, 0);
  EXPECT_EQ(sums[1].higher, 15);
  EXPECT_EQ(sums[1].ties, 9);
  EXPECT_EQ(sums[2].method, "hldf");
  EXPECT_EQ(sums[2].n, 24);
  EXPECT_EQ(sums[2].lower, 23);
  EXPECT_EQ(sums[2].higher, 1);
  // Sign test: 2 · (C(24,0) + C(24,1)) / 2^24 = 50 / 16,777,216.
  EXPECT_NEAR(sums[2].sign_p, 50.0 / 16777216.0, 1e-15);
  EXPECT_LT(sums[2].ci_hi, 0.0);
  EXPECT_NEAR(sums[2].mean, -0.00842, 1e-5);
}

}  // namespace
}  // namespace hld::report
