// The quickstart (the main job) end to end at smoke scale with 2 seeds, with the real binary:
// tokenizer, shards, teacher, one cache per seed, the four students per seed under one FLOPs
// budget, eval and the report (the golden study: its seed-paired table checked against the runs'
// own eval.json); then a re-run that must skip every finished stage.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "hld/report/table.h"
#include "hld/util/fs.h"
#include "test_util.h"

#ifdef HLD_TRAIN_BIN
namespace hld::report {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A PNG whose signature and IHDR chunk are intact, with a plausible size.
void expect_png(const std::string& path) {
  const std::string b = util::read_file(path);
  ASSERT_GT(b.size(), 100u) << path;
  EXPECT_EQ(b.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  EXPECT_EQ(b.substr(12, 4), "IHDR") << path;
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(b[at])) << 24) | (uint32_t(uint8_t(b[at + 1])) << 16) |
           (uint32_t(uint8_t(b[at + 2])) << 8) | uint32_t(uint8_t(b[at + 3]));
  };
  EXPECT_GE(be32(16), 100u) << path;  // width
  EXPECT_GE(be32(20), 100u) << path;  // height
  EXPECT_NE(b.find("IEND"), std::string::npos) << path;
}

// Rows of a CSV (RFC 4180, the report's own reader: it refuses rows of the wrong width), header first.
std::vector<std::vector<std::string>> csv(const std::string& path) { return parse_csv(util::read_file(path), path); }

TEST(Quickstart, SmokePresetWithTwoSeedsRunsTheWholeStudyAndResumes) {
  test::TempDir tmp;
  const std::string out = tmp / "qs";
  const std::string cmd = "HLD_TRAIN=" + std::string(HLD_TRAIN_BIN) + " bash " +
                          test::repo_path("scripts/quickstart.sh") + " --preset smoke --seeds 2 --out " + out;
  auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("| HLDF |"), std::string::npos) << "the Table 2-style comparison is printed\n" << r.output;

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
  for (const char* name : {"runs.csv", "best.csv", "improvement.csv", "sign_tests.csv", "paired.csv", "verdicts.csv",
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
  EXPECT_EQ(valid_rows, 4) << "NLL, HLDC, HLDF against KD and KD against NLL";

  size_t pngs = 0;
  for (const auto& e : fs::directory_iterator(rep + "/figures"))
    if (e.path().extension() == ".png") {
      expect_png(e.path().string());
      ++pngs;
    }
  EXPECT_EQ(pngs, 3u) << "the loss curves, a histogram and a scatter plot";

  // Re-running skips every finished stage: no training step, no new cache chunk.
  r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(" train | loss"), std::string::npos) << "nothing is retrained\n" << r.output;
  size_t skipped = 0;
  for (size_t at = 0; (at = r.output.find("\nskip", at)) != std::string::npos; ++at) ++skipped;
  EXPECT_EQ(skipped, 8u) << r.output;
}

}  // namespace
}  // namespace hld::report
#endif
