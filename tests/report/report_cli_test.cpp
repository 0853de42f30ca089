// `hld-train report` from the command line: a small grid of run folders gives exit 0 and the
// files; bad folders and sizes give exit 2. Full builds only (needs the binary).
#include <gtest/gtest.h>

#ifdef HLD_TRAIN_BIN
#include <cstdio>
#include <filesystem>

#include "hld/report/table.h"
#include "hld/util/fs.h"
#include "run_fixtures.h"

namespace fs = std::filesystem;

namespace hld::report {
namespace {

int run(const std::string& args, std::string* out = nullptr) {
  const std::string cmd = std::string(HLD_TRAIN_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  std::string o;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.append(buf, n);
  const int st = pclose(p);
  if (out) *out = o;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(ReportCli, WritesTheReport) {
  const std::string root = testing::make_temp_dir("report_cli");
  int i = 0;
  for (const char* m : {"nll", "kd", "hldc", "hldf"}) {
    testing::FakeRun r;
    r.method = m;
    r.metrics = {{"valid", 4.0 + 0.01 * i}, {"hellaswag", 0.7}};
    testing::write_run(root + "/runs/" + m, r);
    ++i;
  }
  std::string out;
  ASSERT_EQ(run("report " + root + "/runs --out " + root + "/rep --compare-paper 123m", &out), 0) << out;
  EXPECT_NE(out.find("| HLDF |"), std::string::npos) << out;
  for (const char* f :
       {"report.md", "runs.csv", "best.csv", "pointwise.csv", "sign_tests.csv", "paper_comparison.csv"}) {
    ASSERT_TRUE(fs::exists(root + "/rep/" + f)) << f;
    EXPECT_GT(fs::file_size(root + "/rep/" + f), 0u) << f;
  }
  EXPECT_EQ(parse_csv(util::read_file(root + "/rep/runs.csv"), "runs.csv").size(), 5u);
  EXPECT_EQ(run("report " + root + "/missing --out " + root + "/rep2"), 2);
  EXPECT_EQ(run("report " + root + "/runs --out " + root + "/rep3 --compare-paper 2b"), 2);
  EXPECT_FALSE(fs::exists(root + "/rep3/report.md"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace hld::report
#endif  // HLD_TRAIN_BIN
