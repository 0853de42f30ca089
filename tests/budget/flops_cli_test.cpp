// `hld-train flops` on the paper's configs prints the budget numbers (text and JSON) and exits 2
// on a broken config. Full builds only (needs the binary).
#include <gtest/gtest.h>

#ifdef HLD_TRAIN_BIN
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace {

struct Run {
  int rc = -1;
  std::string out;
};

Run run(const std::string& args) {
  Run r;
  const std::string cmd = std::string(HLD_TRAIN_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

const std::string k123 = std::string(HLD_SOURCE_DIR) + "/configs/paper/student_123m_base.yaml";

TEST(FlopsCli, PaperConfigPrintsThePlan) {
  const auto r = run("flops " + k123 + " --throughput 250000");
  ASSERT_EQ(r.rc, 0) << r.out;
  for (const char* s : {"724,836,096", "108,352,097,280", "100,326,016", "120,806,016", "1.000", "0.483", "1.014",
                        "0.442", "206,665", "estimate"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
}

TEST(FlopsCli, JsonHasParamsCostsRatiosAndPhases) {
  const auto r = run("flops " + k123 + " --json --set objective.name=hldf --set objective.p1=0.05");
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["params"]["student_backbone"], 100326016);
  EXPECT_EQ(j["cost_per_token"]["data"], 724836096);
  EXPECT_DOUBLE_EQ(j["ratio"]["kd"].get<double>(), 1.0);
  ASSERT_EQ(j["phases"].size(), 2u);
  EXPECT_EQ(j["phases"][0]["name"], "hint");
  EXPECT_GT(j["phases"][0]["steps"].get<int64_t>(), 0);
  EXPECT_NEAR(j["phases"][0]["share"].get<double>(), 0.05, 1e-4);
}

TEST(FlopsCli, BrokenConfigExits2) {
  EXPECT_EQ(run("flops " + k123 + " --set objective.alpha=3").rc, 2);
  EXPECT_EQ(run("flops /nonexistent/config.yaml").rc, 2);
  EXPECT_EQ(run("flops " + k123 + " --set budget.unit=steps --set budget.amount=2.5").rc, 2);
  EXPECT_EQ(run("flops " + k123 + " --set budget.unit=tokens --set budget.amount=10").rc, 2);
}

}  // namespace
#endif  // HLD_TRAIN_BIN
