// The quickstart (the main job) end to end at smoke scale, with the real binary: tokenizer,
// shards, teacher, cache, the four students under one FLOPs budget, eval and the report; then a
// re-run that must skip every finished stage.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

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

// Rows of a CSV without quoted commas (the report quotes none in these columns), header first.
std::vector<std::vector<std::string>> csv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(util::read_file(path));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream ls(line);
    while (std::getline(ls, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    rows.push_back(cells);
  }
  return rows;
}

TEST(Quickstart, SmokePresetRunsTheWholeStudyAndResumes) {
  test::TempDir tmp;
  const std::string out = tmp / "qs";
  const std::string cmd = "HLD_TRAIN=" + std::string(HLD_TRAIN_BIN) + " bash " +
                          test::repo_path("scripts/quickstart.sh") + " --preset smoke --out " + out;
  auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("| HLDF |"), std::string::npos) << "the Table 2-style comparison is printed\n" << r.output;

  // Four students, each evaluated, with a finite held-out log-perplexity and FLOPs equal within
  // one optimizer step (the NLL run's per-step cost, the cheapest full step, times the most
  // expensive objective's ratio 1.05 for HLDC's regressor: bound with 1.2 of it).
  std::map<std::string, json> evals;
  for (const auto& e : fs::directory_iterator(out + "/students"))
    evals[e.path().filename().string().substr(0, e.path().filename().string().find('_'))] =
        json::parse(util::read_file((e.path() / "eval.json").string()));
  ASSERT_EQ(evals.size(), 4u);
  for (const char* m : {"nll", "kd", "hldc", "hldf"}) {
    ASSERT_TRUE(evals.count(m)) << m;
    const double lp = evals[m]["summary"]["valid_shards/log_perplexity"].get<double>();
    EXPECT_TRUE(std::isfinite(lp) && lp > 0 && lp < 10) << m << " " << lp;
  }
  const auto& nll = evals["nll"];
  const double step_flops = nll["flops"].get<double>() / (nll["tokens"].get<double>() / (16.0 * 128.0));
  double lo = 1e300, hi = 0;
  for (const auto& [m, e] : evals) {
    lo = std::min(lo, e["flops"].get<double>());
    hi = std::max(hi, e["flops"].get<double>());
  }
  EXPECT_LE(hi - lo, 1.2 * step_flops) << "compute-matched within one step";

  // The report: Markdown, CSVs that parse with consistent rows, PNG figures.
  const std::string rep = out + "/report";
  const std::string md = util::read_file(rep + "/report.md");
  for (const char* row : {"| Teacher |", "| NLL |", "| KD |", "| HLDC |", "| HLDF |"})
    EXPECT_NE(md.find(row), std::string::npos) << row;
  for (const char* name : {"runs.csv", "best.csv", "improvement.csv", "sign_tests.csv"}) {
    const auto rows = csv(rep + "/" + name);
    ASSERT_GE(rows.size(), 2u) << name;
    for (const auto& row : rows) EXPECT_EQ(row.size(), rows[0].size()) << name;
  }
  EXPECT_EQ(csv(rep + "/runs.csv").size(), 5u);  // header + 4 runs
  size_t pngs = 0;
  for (const auto& e : fs::directory_iterator(rep + "/figures"))
    if (e.path().extension() == ".png") {
      expect_png(e.path().string());
      ++pngs;
    }
  EXPECT_EQ(pngs, 2u) << "a histogram and a scatter plot";

  // Re-running skips every finished stage: no training step, no new cache chunk.
  r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(" train | loss"), std::string::npos) << "nothing is retrained\n" << r.output;
  size_t skipped = 0;
  for (size_t at = 0; (at = r.output.find("\nskip", at)) != std::string::npos; ++at) ++skipped;
  EXPECT_EQ(skipped, 4u) << r.output;
}

}  // namespace
}  // namespace hld::report
#endif
