// Crash safety of `hld-train cache-teacher`: SIGKILL at random moments keeps every finished chunk,
// the next invocation resumes after them, and the finished cache is bitwise the cache of an
// uninterrupted run.
#ifdef HLD_TRAIN_BIN
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "../train/train_fixture.h"
#include "hld/util/fs.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace hld::teacher {
namespace {

TEST(CacheTeacherCrashSafety, KillNineAtRandomPointsThenResumeIsBitwiseExact) {
  test::TempDir dir;
  const std::string cfg = dir / "exp.yaml";
  util::write_file_atomic(cfg, test::tiny_experiment_yaml() + "teacher: {checkpoint: " + test::tiny_teacher() +
                                   ", source: cache}\nobjective: {name: hldc}\n");
  auto cmd = [&](const std::string& cache) {
    return std::string(HLD_TRAIN_BIN) + " cache-teacher " + cfg +
           " --quiet --chunk-sequences 24 --set teacher.cache=" + cache + " --set budget.amount=200000";
  };
  const double t0 = test::now_s();
  auto full = test::run_command(cmd(dir / "full"));
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const double t_full = test::now_s() - t0;

  const auto kr = test::run_with_kills(cmd(dir / "cut"), test::kill_delays(t_full, 6, /*seed=*/5));
  ASSERT_EQ(kr.final.exit_code, 0) << kr.final.output;
  EXPECT_GE(kr.kills, 5) << "uninterrupted run took " << t_full << " s";
  // The last run resumed after the chunks its predecessors finished.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(kr.final.output, m, std::regex("(\\d+) chunks already finished"))) << kr.final.output;
  EXPECT_GT(std::stoi(m[1]), 0) << kr.final.output;

  const auto a = test::read_dir_files(dir / "full"), b = test::read_dir_files(dir / "cut");
  ASSERT_GT(a.size(), 4u);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, bytes] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(bytes == b.at(name)) << name << " differs";
  }
  auto v = test::run_hld("cache-teacher " + cfg + " --verify --set teacher.cache=" + (dir / "cut") +
                         " --set budget.amount=200000");
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

}  // namespace
}  // namespace hld::teacher
#endif
