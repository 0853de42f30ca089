// `cache-teacher` under a scheduler's SIGTERM: it finishes and records the chunk in hand, exits with
// code 75, and a re-run continues after the recorded chunks to a cache that verifies and is
// bitwise the cache of an uninterrupted run.
#ifdef HLD_TRAIN_BIN
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "../dist/dist_test_util.h"
#include "../train/train_fixture.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace hld::teacher {
namespace {

/// Chunks recorded in DIR/index.json so far (0 while it does not exist or is being replaced).
size_t recorded_chunks(const std::string& dir) {
  try {
    return nlohmann::json::parse(util::read_file(dir + "/index.json")).at("chunks").size();
  } catch (const std::exception&) {
    return 0;
  }
}

TEST(CacheTeacherPreemption, SigtermFinishesTheChunkAndARerunCompletesTheSameCache) {
  test::TempDir dir;
  const std::string cfg = dir / "exp.yaml";
  util::write_file_atomic(cfg, test::tiny_experiment_yaml() + "teacher: {checkpoint: " + test::tiny_teacher() +
                                   ", source: cache}\nobjective: {name: hldc}\n");
  auto args = [&](const std::string& cache) {
    return "cache-teacher " + cfg + " --quiet --chunk-sequences 24 --set teacher.cache=" + cache +
           " --set budget.amount=200000";
  };
  auto full = test::run_hld(args(dir / "full"));
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const size_t total = recorded_chunks(dir / "full");
  ASSERT_GE(total, 4u);

  const std::string cut = dir / "cut";
  dist::testing::Proc p("", args(cut), dir / "cut.log");
  const auto t0 = std::chrono::steady_clock::now();
  while (recorded_chunks(cut) < 1 && !p.wait(0) && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120))
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ::kill(p.pid, SIGTERM);
  ASSERT_TRUE(p.wait(120)) << p.output();
  EXPECT_EQ(p.status, kExitRequeue) << p.output();
  const std::string out = p.output();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("stopped by SIGTERM after (\\d+) chunks"))) << p.output();
  const size_t done = std::stoul(m[1]);
  EXPECT_GE(done, 1u);
  ASSERT_LT(done, total) << "the run had finished before the signal: nothing was tested";
  EXPECT_EQ(recorded_chunks(cut), done);  // the chunk in hand was finished and recorded
  for (const auto& e : fs::directory_iterator(cut))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();

  auto rest = test::run_hld(args(cut));
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_NE(rest.output.find(std::to_string(done) + " chunks already finished"), std::string::npos) << rest.output;
  const auto a = test::read_dir_files(dir / "full"), b = test::read_dir_files(cut);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, bytes] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(bytes == b.at(name)) << name << " differs";
  }
  auto v =
      test::run_hld("cache-teacher " + cfg + " --verify --set teacher.cache=" + cut + " --set budget.amount=200000");
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

}  // namespace
}  // namespace hld::teacher
#endif
