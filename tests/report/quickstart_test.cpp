// The quickstart (the main job) end to end at smoke scale with 2 seeds, with the real binary:
// tokenizer, shards, teacher, one cache per seed, the four students per seed under one FLOPs
// budget, eval and the report (the golden study: its seed-paired table checked against the runs'
// own eval.json; its three figures decoded and every panel checked); a short console without
// warnings, full logs in the run folder; then a --verbose re-run that must skip every finished
// stage.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "hld/report/curve_figures.h"
#include "hld/report/figures.h"
#include "hld/report/table.h"
#include "hld/util/fs.h"
#include "figure_checks.h"
#include "test_util.h"

#ifdef HLD_TRAIN_BIN
namespace hld::report {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Rows of a CSV (RFC 4180, the report's own reader: it refuses rows of the wrong width), header first.
std::vector<std::vector<std::string>> csv(const std::string& path) { return parse_csv(util::read_file(path), path); }

TEST(Quickstart, SmokePresetWithTwoSeedsRunsTheWholeStudyAndResumes) {
  test::TempDir tmp;
  const std::string out = tmp / "qs";
  const std::string cmd = "HLD_TRAIN=" + std::string(HLD_TRAIN_BIN) + " bash " +
                          test::repo_path("scripts/quickstart.sh") + " --preset smoke --seeds 2 --out " + out;
  auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The quiet console: the plan, a line per stage and run, the result, where to read on; no warning.
  EXPECT_NE(r.output.find("| HLDF |"), std::string::npos) << "the Table 2-style comparison is printed\n" << r.output;
  EXPECT_NE(r.output.find("HLDF \xe2\x88\x92 KD on held-out loss"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("report:  " + out + "/report/report.md"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("figure:  " + out + "/report/figures/qs_student_curves.png"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("warn"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(" train | loss"), std::string::npos) << "training progress stays in the logs\n" << r.output;
  EXPECT_LT(std::count(r.output.begin(), r.output.end(), '\n'), 50) << r.output;
  for (const char* log :
       {"data.log", "teacher.log", "teacher-cache-s0.log", "teacher-cache-s1.log", "plan.log", "report.log"})
    EXPECT_TRUE(fs::exists(out + "/logs/" + log)) << log;
  EXPECT_NE(util::read_file(out + "/logs/teacher.log").find(" train | loss"), std::string::npos)
      << "the teacher's training log is kept";

  // Four students per seed, each evaluated, with a finite held-out log-perplexity and FLOPs equal
  // within one optimizer step (the NLL run's per-step cost, the cheapest full step, times the most
  // expensive objective's ratio 1.05 for HLDC's regressor: bound with 1.2 of it).
  std::map<std::string, json> evals;  // "kd/0" → eval.json
  for (const auto& e : fs::directory_iterator(out + "/students")) {
    const std::string name = e.path().filename().string();
    const std::string key = name.substr(0, name.find('_')) + "/" + name.substr(name.rfind("_s") + 2);
    evals[key] = json::parse(util::read_file((e.path() / "eval.json").string()));
  }
  ASSERT_EQ(evals.size(), 8u);
  auto valid_of = [&](const std::string& m, int seed) {
    return evals.at(m + "/" + std::to_string(seed))["summary"]["valid_shards/log_perplexity"].get<double>();
  };
  for (const char* m : {"nll", "kd", "hldc", "hldf"})
    for (int seed : {0, 1}) {
      ASSERT_TRUE(evals.count(std::string(m) + "/" + std::to_string(seed))) << m << seed;
      const double lp = valid_of(m, seed);
      EXPECT_TRUE(std::isfinite(lp) && lp > 0 && lp < 10) << m << " " << lp;
    }
  EXPECT_NE(valid_of("kd", 0), valid_of("kd", 1)) << "seeds change init and data order";
  const auto& nll = evals["nll/0"];
  const double step_flops = nll["flops"].get<double>() / (nll["tokens"].get<double>() / (16.0 * 128.0));
  double lo = 1e300, hi = 0;
  for (const auto& [m, e] : evals) {
    lo = std::min(lo, e["flops"].get<double>());
    hi = std::max(hi, e["flops"].get<double>());
  }
  EXPECT_LE(hi - lo, 1.2 * step_flops) << "compute-matched within one step";
  for (int seed : {0, 1}) {
    const auto cost = json::parse(util::read_file(out + "/teacher-cache-s" + std::to_string(seed) + "/cost.json"));
    EXPECT_GT(cost["flops"].get<double>(), 0) << "cache-teacher records the FLOPs it spent";
  }

  // The report: Markdown, CSVs that parse with consistent rows, PNG figures.
  const std::string rep = out + "/report";
  const std::string md = util::read_file(rep + "/report.md");
  for (const char* row : {"| Teacher |", "| NLL |", "| KD |", "| HLDC |", "| HLDF |", "Seed-paired comparisons",
                          "HLDF \xe2\x88\x92 KD on held-out loss", "KD \xe2\x88\x92 NLL on held-out loss",
                          "_curves.png", "Teacher-inclusive compute (--teacher-cost full)", "Break-even (KD vs NLL)"})
    EXPECT_NE(md.find(row), std::string::npos) << row;
  EXPECT_EQ(md.find("NLL \xe2\x88\x92 KD"), std::string::npos) << "each comparison once, KD against NLL";
  EXPECT_EQ(md.find("Not drawn"), std::string::npos) << md;
  for (const char* name : {"runs.csv", "best.csv", "pointwise.csv", "sign_tests.csv", "paired.csv", "verdicts.csv",
                           "curves.csv", "teacher_cost.csv"}) {
    const auto rows = csv(rep + "/" + name);
    ASSERT_GE(rows.size(), 2u) << name;
  }
  EXPECT_EQ(csv(rep + "/runs.csv").size(), 5u);  // header + 4 points (2 seeds each)

  // The golden study: every seed-paired row on the held-out loss has n = 2, its interval holds
  // the mean, and its differences and signs are the runs' own (eval.json, printed to 6 digits).
  const auto paired = csv(rep + "/paired.csv");
  ASSERT_EQ(paired[0][7], "mean_diff");
  int valid_rows = 0;
  for (size_t i = 1; i < paired.size(); ++i) {
    const auto& row = paired[i];
    if (row[1] != "valid") continue;
    ++valid_rows;
    EXPECT_EQ(row[5], "0 1");
    EXPECT_EQ(row[6], "2");
    EXPECT_EQ(row[10], "t");
    const double mean = std::stod(row[7]), ci_lo = std::stod(row[8]), ci_hi = std::stod(row[9]);
    EXPECT_LE(ci_lo, mean);
    EXPECT_GE(ci_hi, mean);
    const std::string m = row[2], ref = row[3];
    int lower = 0;
    double sum = 0;
    for (int seed : {0, 1}) {
      const double d = valid_of(m, seed) - valid_of(ref, seed);
      lower += d < -1e-9 ? 1 : 0;
      sum += d;
    }
    EXPECT_NEAR(mean, sum / 2, 1e-5 * std::max(1.0, std::abs(mean))) << m << " vs " << ref;
    EXPECT_EQ(std::stoi(row[11]), lower) << m << " vs " << ref;
  }
  EXPECT_EQ(valid_rows, 3) << "HLDC and HLDF against KD, KD against NLL";

  // The three figures, every panel drawn with every method.
  size_t pngs = 0;
  for (const auto& e : fs::directory_iterator(rep + "/figures")) pngs += e.path().extension() == ".png";
  EXPECT_EQ(pngs, 3u) << "the loss curves, a histogram and a scatter plot";
  testing::expect_panels(rep + "/figures/qs_student_curves.png", kCurveFigure, 2, {"nll", "kd", "hldc", "hldf"});
  testing::expect_panels(rep + "/figures/qs_student_valid_hist.png", kComparisonFigure, 1, {"hldc", "hldf"});
  testing::expect_panels(rep + "/figures/qs_student_valid_scatter.png", kComparisonFigure, 1, {"nll", "hldc", "hldf"});

  // Re-running skips every finished stage: no training step, no new cache chunk (--verbose: the
  // commands' own output, which would show a training step).
  r = test::run_command(cmd + " --verbose");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(" train | loss"), std::string::npos) << "nothing is retrained\n" << r.output;
  size_t skipped = 0;
  for (size_t at = 0; (at = r.output.find("\nskip", at)) != std::string::npos; ++at) ++skipped;
  EXPECT_EQ(skipped, 8u) << r.output;
}

}  // namespace
}  // namespace hld::report
#endif
