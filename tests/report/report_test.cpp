// `report` end to end on synthetic run folders: every file is written, non-empty and parses, in one
// Δ convention with each comparison once; bad folders are InputErrors naming the file. The figures
// have their own tests (figures_test.cpp).
#include <gtest/gtest.h>

#include <filesystem>

#include "hld/report/metrics.h"
#include "hld/report/report.h"
#include "hld/report/table.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "run_fixtures.h"

namespace fs = std::filesystem;

namespace hld::report {
namespace {

using testing::FakeRun;
using testing::write_run;

// A 2 η × 2 α grid: 2 NLL, 4 KD, 4 HLDC, 4 HLDF; KD and HLDF with two seeds; one unfinished run.
std::string make_grid(bool with_c4) {
  const std::string root = testing::make_temp_dir("report");
  int n = 0;
  for (double lr : {1e-3, 4e-3}) {
    FakeRun nll;
    nll.method = "nll";
    nll.lr = lr;
    nll.metrics = {{"valid", 4.0 + lr * 10}, {"hellaswag", 0.74}};
    if (with_c4) nll.metrics["c4"] = 4.1 + lr * 10;
    write_run(root + "/r" + std::to_string(n++), nll);
    for (double alpha : {0.7, 0.9}) {
      for (const char* m : {"kd", "hldc", "hldf"}) {
        for (uint64_t seed : {0, 1}) {
          if (std::string(m) == "hldc" && seed == 1) continue;
          FakeRun r;
          r.method = m;
          r.lr = lr;
          r.alpha = alpha;
          r.seed = seed;
          const double base = 4.0 + lr * 10 - alpha * 0.1 + seed * 0.003;
          const double delta = std::string(m) == "hldf" ? -0.01 : std::string(m) == "hldc" ? 0.002 : 0.0;
          r.metrics = {{"valid", base + delta}, {"hellaswag", 0.73 - delta}};
          if (with_c4) r.metrics["c4"] = base + 0.1 + delta;
          r.flops = 1e12 + (std::string(m) == "hldf" ? 3e9 : 0.0);
          write_run(root + "/r" + std::to_string(n++), r);
        }
      }
    }
  }
  FakeRun unfinished;
  unfinished.method = "hldf";
  unfinished.write_eval = false;
  write_run(root + "/unfinished", unfinished);
  return root;
}

// Occurrences of `needle` in `hay`.
size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

TEST(Report, WritesTablesAndCsvInOneDeltaConvention) {
  const std::string root = make_grid(true);
  const std::string teacher = testing::make_temp_dir("teacher");
  FakeRun t;
  t.model = "teacher_tiny";
  t.method = "nll";
  t.metrics = {{"c4", 3.5}, {"valid", 3.4}, {"hellaswag", 0.6}};
  write_run(teacher, t);

  ReportOptions opt;
  opt.out_dir = root + "/report";
  opt.bootstrap = 500;
  opt.figures = false;
  const auto res = report_dirs({root}, {teacher}, opt);
  EXPECT_EQ(res.runs, 23);  // 2 × (1 NLL + 2 α × (2 KD + 1 HLDC + 2 HLDF)) + 1 unfinished
  EXPECT_EQ(res.finished, 22);
  for (const char* f : {"report.md", "runs.csv", "best.csv", "pointwise.csv", "sign_tests.csv"}) {
    const std::string p = opt.out_dir + "/" + f;
    ASSERT_TRUE(fs::exists(p)) << p;
    EXPECT_GT(fs::file_size(p), 50u) << p;
  }
  // CSVs parse with one header and consistent rows.
  const auto runs_csv = parse_csv(util::read_file(opt.out_dir + "/runs.csv"), "runs.csv");
  EXPECT_EQ(runs_csv.size(), 1u + 2 + 4 + 4 + 4 + 1);  // 15 points (+ the unfinished HLDF point)
  const auto best = parse_csv(util::read_file(opt.out_dir + "/best.csv"), "best.csv");
  ASSERT_EQ(best.size(), 1u + 6);  // random, teacher, nll, kd, hldc, hldf
  EXPECT_EQ(best[0][0], "model");
  EXPECT_EQ(best[2][1], "teacher");
  EXPECT_EQ(best[6][1], "hldf");
  // HLDF's best point: η 1e-3, α 0.9 (lowest C4), mean of seeds 0 and 1.
  const double expect_c4 = 4.0 + 0.01 - 0.09 + 0.0015 + 0.1 - 0.01;
  EXPECT_NEAR(std::stod(best[6][2]), expect_c4, 1e-6);
  // pointwise.csv: Δ = value − reference_value, HLDC/HLDF against KD and KD against NLL only.
  const auto pw = parse_csv(util::read_file(opt.out_dir + "/pointwise.csv"), "pointwise.csv");
  ASSERT_EQ(pw[0], (std::vector<std::string>{"model", "metric", "method", "reference", "lr", "alpha", "temperature",
                                             "gamma", "p1", "value", "reference_value", "delta"}));
  // Per metric (c4, hellaswag, valid): KD 4 points − NLL, HLDC 4 − KD, HLDF 4 − KD.
  EXPECT_EQ(pw.size(), 1u + 3 * 12);
  for (size_t i = 1; i < pw.size(); ++i) {
    EXPECT_EQ(pw[i][3], pw[i][2] == "kd" ? "nll" : "kd") << i;
    EXPECT_NE(pw[i][2], "nll") << i;
    EXPECT_NEAR(std::stod(pw[i][11]), std::stod(pw[i][9]) - std::stod(pw[i][10]), 1e-5) << i;
    if (pw[i][1] == "c4" && pw[i][2] == "hldf") {
      EXPECT_NEAR(std::stod(pw[i][11]), -0.01, 1e-6) << i;
    }
    if (pw[i][1] == "c4" && pw[i][2] == "kd") {
      EXPECT_LT(std::stod(pw[i][11]), 0) << i;  // KD − NLL: −0.1·α + 0.0015
    }
  }
  const auto signs = parse_csv(util::read_file(opt.out_dir + "/sign_tests.csv"), "sign_tests.csv");
  ASSERT_EQ(signs[0][5], "lower");
  for (const auto& r : signs)
    if (r[1] == "c4" && r[2] == "hldf") {
      EXPECT_EQ(r[3], "kd");
      EXPECT_EQ(r[5], "4");                       // lower at every point
      EXPECT_NEAR(std::stod(r[8]), -0.01, 1e-6);  // mean Δ
    }
  // Seed-paired: each HLDF point against the KD point it shares (η, α, τ) with, seeds 0 and 1.
  const auto paired = parse_csv(util::read_file(opt.out_dir + "/paired.csv"), "paired.csv");
  ASSERT_EQ(paired[0][0], "model");
  int hldf_c4 = 0;
  for (const auto& r : paired)
    if (r[1] == "c4" && r[2] == "hldf") {
      ++hldf_c4;
      EXPECT_EQ(r[3], "kd");
      EXPECT_EQ(r[5], "0 1");  // seeds
      EXPECT_EQ(r[10], "t");   // Student t over 2 seeds
      EXPECT_NEAR(std::stod(r[7]), -0.01, 1e-9);
      EXPECT_EQ(r[11], "2");  // lower in both seeds
    }
  EXPECT_EQ(hldf_c4, 4);  // 2 η × 2 α
  const auto verdicts = parse_csv(util::read_file(opt.out_dir + "/verdicts.csv"), "verdicts.csv");
  bool hldf_verdict = false;
  for (const auto& r : verdicts)
    if (r[1] == "c4" && r[2] == "hldf" && r[3] == "kd") {
      hldf_verdict = true;
      EXPECT_EQ(r[4], "4");   // points
      EXPECT_EQ(r[5], "2");   // seeds
      EXPECT_EQ(r[10], "8");  // lower in all 8 seed pairs
      EXPECT_NE(r[12].find("HLDF lower in 2 of 2 seeds at every point"), std::string::npos) << r[12];
    }
  EXPECT_TRUE(hldf_verdict);

  const std::string md = util::read_file(opt.out_dir + "/report.md");
  for (const char* s : {"## student_tiny", "Table 2 layout", "Tables 4/5 layout", "| Teacher |", "| HLDF |",
                        "Seed-paired comparisons", "HLDF \xe2\x88\x92 KD on C4 log-perplexity", "unfinished",
                        "sign test", "| KD \xe2\x88\x92 NLL |", "| HLDF \xe2\x88\x92 KD |"})
    EXPECT_NE(md.find(s), std::string::npos) << s;
  EXPECT_NE(res.summary.find("| HLDF |"), std::string::npos);
  // One Δ convention, stated once at the top, for the file and for the terminal; each comparison
  // in one direction only.
  EXPECT_EQ(count(md, "Δ = method \xe2\x88\x92 reference"), 1u) << md;
  EXPECT_LT(md.find("Δ = method \xe2\x88\x92 reference"), md.find("## student_tiny"));
  EXPECT_EQ(count(res.summary, "Δ = method \xe2\x88\x92 reference"), 1u) << res.summary;
  for (const std::string& text : {md, res.summary}) {
    EXPECT_EQ(text.find("NLL \xe2\x88\x92 KD"), std::string::npos) << text;
    EXPECT_EQ(text.find("KD \xe2\x88\x92 method"), std::string::npos) << text;
    EXPECT_EQ(text.find("beats KD"), std::string::npos) << text;  // the old KD − method wording
  }
  EXPECT_NE(res.summary.find("KD \xe2\x88\x92 NLL on C4 log-perplexity"), std::string::npos) << res.summary;
  EXPECT_TRUE(res.figures.empty());
  EXPECT_FALSE(fs::exists(opt.out_dir + "/figures"));
  fs::remove_all(root);
  fs::remove_all(teacher);
}

TEST(Report, WithoutC4TheHeldOutShardsSelect) {
  const std::string root = make_grid(false);
  ReportOptions opt;
  opt.out_dir = root + "/out";
  opt.figures = false;
  opt.bootstrap = 100;
  const auto res = report_dirs({root}, {}, opt);
  const std::string md = util::read_file(opt.out_dir + "/report.md");
  EXPECT_NE(md.find("by Valid log-perplexity"), std::string::npos);
  EXPECT_FALSE(fs::exists(opt.out_dir + "/figures"));
  fs::remove_all(root);
}

TEST(Report, ComparePaperSetsTheRunsBesideTable2) {
  const std::string root = make_grid(true);
  ReportOptions opt;
  opt.out_dir = root + "/out";
  opt.figures = false;
  opt.bootstrap = 100;
  opt.compare_paper = "123m";
  report_dirs({root}, {}, opt);
  const std::string md = util::read_file(opt.out_dir + "/report.md");
  EXPECT_NE(md.find("Beside the paper"), std::string::npos);
  EXPECT_NE(md.find("3.000"), std::string::npos);    // the paper's HLDF C4
  EXPECT_NE(md.find("23 / 24"), std::string::npos);  // the paper's HLDF sign count (below KD at 23 of 24)
  EXPECT_NE(md.find("| KD \xe2\x88\x92 NLL |"), std::string::npos);
  const auto cmp = parse_csv(util::read_file(opt.out_dir + "/paper_comparison.csv"), "paper_comparison.csv");
  // η 1e-3 / 4e-3 are not grid points of the paper; the unfinished run (η 4e-4, α 0.9, τ 1,
  // P1 0.01: defaults) is, with no metrics of its own yet.
  ASSERT_EQ(cmp.size(), 2u);
  EXPECT_EQ(cmp[1][1], "hldf");
  EXPECT_EQ(cmp[1][2], "0.0004");
  EXPECT_EQ(cmp[1][7], "");
  EXPECT_EQ(cmp[1][8], "3.037");  // paper Table 4: HLDF 0.0004 0.01 0.9 1.0
  opt.compare_paper = "9b";
  EXPECT_THROW(report_dirs({root}, {}, opt), InputError);
  fs::remove_all(root);
}

TEST(Report, MetricKeyVariants) {
  const auto j = nlohmann::json::parse(R"({
    "metrics": {"c4": {"log_perplexity": 3.1}, "hellaswag": {"acc": 0.25},
                "piqa": {"acc": 0.6, "error": 0.41}, "winogrande/error": 0.45},
    "wikitext": {"log_ppl": 2.9},
    "tasks": {"arc_easy": {"acc": "n/a"}},
    "train": {"flops": 1.5e18}})");
  const auto m = extract_metrics(j);
  EXPECT_DOUBLE_EQ(m.at("c4"), 3.1);
  EXPECT_DOUBLE_EQ(m.at("hellaswag"), 0.75);  // 1 − acc
  EXPECT_DOUBLE_EQ(m.at("piqa"), 0.41);       // error wins over acc
  EXPECT_DOUBLE_EQ(m.at("winogrande"), 0.45);
  EXPECT_DOUBLE_EQ(m.at("wikitext"), 2.9);
  EXPECT_EQ(m.count("arc_easy"), 0u);  // not a number: "—"
  EXPECT_EQ(m.count("lambada"), 0u);
  EXPECT_DOUBLE_EQ(*extract_number(j, {"flops", "train.flops"}), 1.5e18);
}

TEST(Report, BadFoldersAreInputErrors) {
  const std::string root = testing::make_temp_dir("badrun");
  EXPECT_THROW(find_run_dirs({root + "/missing"}), InputError);
  EXPECT_THROW(find_run_dirs({root}), InputError);  // no run inside
  FakeRun r;
  write_run(root + "/a", r);
  util::write_file_atomic(root + "/a/eval.json", "{ not json");
  try {
    load_run(root + "/a");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("eval.json"), std::string::npos) << e.what();
  }
  write_run(root + "/b", r);
  util::write_file_atomic(root + "/b/config.yaml", "objective:\n  name: magic\n");
  EXPECT_THROW(load_run(root + "/b"), InputError);
  util::write_file_atomic(root + "/b/config.yaml", "objective: [unclosed\n");
  EXPECT_THROW(load_run(root + "/b"), InputError);
  // eval.json alone, with the config embedded: readable.
  fs::create_directories(root + "/c");
  util::write_file_atomic(root + "/c/eval.json",
                          R"({"config": {"objective": {"name": "hldc", "gamma": 0.05}, "model": {"name": "x"}},
                              "metrics": {"c4": {"log_ppl": 3.0}}})");
  const auto c = load_run(root + "/c");
  EXPECT_EQ(c.method, "hldc");
  EXPECT_DOUBLE_EQ(c.gamma, 0.05);
  EXPECT_EQ(c.model, "x");
  EXPECT_DOUBLE_EQ(c.metrics.at("c4"), 3.0);
  // What `hld-train eval` writes: the config's path, and metrics under their task names.
  fs::create_directories(root + "/d");
  util::write_file_atomic(root + "/d.yaml", "objective:\n  name: kd\n  alpha: 0.7\noptimizer:\n  lr: 1.6e-3\n");
  util::write_file_atomic(root + "/d/eval.json", R"({"config": ")" + root + R"(/d.yaml", "flops": 2.5e15,
      "metrics": {"valid_shards": {"log_perplexity": 4.25}, "piqa": {"acc": 0.6, "error": 0.4}}})");
  const auto d = load_run(root + "/d");
  EXPECT_EQ(d.method, "kd");
  EXPECT_DOUBLE_EQ(d.alpha, 0.7);
  EXPECT_DOUBLE_EQ(d.lr, 1.6e-3);
  EXPECT_DOUBLE_EQ(d.metrics.at("valid"), 4.25);
  EXPECT_DOUBLE_EQ(d.metrics.at("piqa"), 0.4);
  EXPECT_DOUBLE_EQ(*d.flops, 2.5e15);
  fs::remove_all(root);
}

}  // namespace
}  // namespace hld::report
