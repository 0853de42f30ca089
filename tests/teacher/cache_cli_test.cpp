// `hld-train cache-teacher` through the binary: storage line before any work, resumable writes,
// --verify figures, and exit code 2 with a clear message for a corrupt chunk, a truncated
// chunk, a header from another teacher and a cache of another configuration in the directory.
#ifdef HLD_TRAIN_BIN
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "cache_test_util.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::teacher {
namespace {

TEST(CacheTeacherCli, WritesVerifiesAndRejectsBadCaches) {
  testing::CacheWorld w;
  const std::string cfg = w.tmp / "kd.yaml";
  std::ofstream(cfg) << w.yaml("kd", "cache");
  const std::string base = "cache-teacher " + cfg + " --sequences 100000 --chunk-sequences 16 ";

  auto r = test::run_hld(base + "--stop-after-chunks 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("B/token"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("free)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("incomplete"), std::string::npos) << r.output;
  const auto mtime = fs::last_write_time(w.cache + "/chunk_00000.bin");
  r = test::run_hld(base);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 chunks already finished"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("seq/s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("complete"), std::string::npos) << r.output;
  EXPECT_EQ(fs::last_write_time(w.cache + "/chunk_00000.bin"), mtime);

  r = test::run_hld("cache-teacher " + cfg + " --verify --json --sample 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')), nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.output;
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["sample"]["topk_same_set"].get<double>(), 1.0);
  EXPECT_LT(j["sample"]["kd_rel_diff"].get<double>(), 1e-3);

  // A header from another teacher (same shape, other weights).
  testing::save_random_teacher(w.tmp / "other", 256, 32, 4, 77, 0.5);
  r = test::run_hld("cache-teacher " + cfg + " --verify --set teacher.checkpoint=" + (w.tmp / "other"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("'teacher.hash'"), std::string::npos) << r.output;
  r = test::run_hld("train " + cfg + " --quiet --set teacher.checkpoint=" + (w.tmp / "other"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("'teacher.hash'"), std::string::npos) << r.output;
  // Another configuration in the same directory: refused before anything is written.
  r = test::run_hld(base + "--set objective.teacher_layer=1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("already holds a cache of another configuration (layer"), std::string::npos) << r.output;

  // A flipped byte in a row table (training stops at the chunk's first read), one in the data
  // (--verify reads every row), then a truncated chunk.
  const std::string c2 = w.cache + "/chunk_00002.bin";
  const std::string good = util::read_file(c2);
  std::string bad = good;
  bad[70] ^= 0x01;
  std::ofstream(c2, std::ios::binary | std::ios::trunc) << bad;
  r = test::run_hld("train " + cfg + " --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("chunk_00002.bin: header/row-table checksum"), std::string::npos) << r.output;
  bad = good;
  bad[bad.size() / 2] ^= 0x01;
  std::ofstream(c2, std::ios::binary | std::ios::trunc) << bad;
  r = test::run_hld("cache-teacher " + cfg + " --verify");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("chunk_00002.bin"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("checksum"), std::string::npos) << r.output;
  fs::resize_file(c2, 1000);
  r = test::run_hld("cache-teacher " + cfg + " --verify");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
  // Resuming repairs it.
  r = test::run_hld(base);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_hld("cache-teacher " + cfg + " --verify --sample 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("hidden cosine"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hld::teacher
#endif
