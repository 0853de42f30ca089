// Full disks and resource limits, through the binary: a run whose checkpoints (or a cache whose
// chunks) cannot fit is refused up front with both figures; with the check off, the write fails
// with a clear message and a non-zero exit, the previous checkpoint / finished chunks stay
// intact, and once there is room again the run resumes and ends bitwise equal to a run that never
// hit the wall. On a small tmpfs where the test may mount one (ENOSPC), else under a file-size
// limit (EFBIG).
#ifdef HLD_TRAIN_BIN
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>

#include "hld/io/safetensors.h"
#include "hld/model/model_io.h"
#include "hld/util/fs.h"
#include "test_util.h"
#include "train_fixture.h"

namespace hld::train {
namespace {

namespace fs = std::filesystem;

// The files of `dir` without the filler that fills the small filesystem.
std::map<std::string, std::string> files_of(const std::string& dir) {
  auto f = test::read_dir_files(dir);
  f.erase(".filler");
  return f;
}

// `cmd` under a file-size limit of `kib` KiB (SIGXFSZ ignored, so writes fail with EFBIG).
std::string size_limited(const std::string& cmd, uint64_t kib) {
  return "trap '' XFSZ; ulimit -f " + std::to_string(kib) + "; " + cmd;
}

TEST(FullDisk, CheckpointWriteFailsCleanlyKeepsThePreviousAndResumes) {
  test::TempDir tmp;
  test::SmallFs small(16u << 20);
  const std::string cfg = tmp / "exp.yaml";
  util::write_file_atomic(cfg, test::tiny_experiment_yaml());
  auto cmd = [&](const std::string& run, const std::string& extra) {
    return std::string(HLD_TRAIN_BIN) + " train " + cfg + " --quiet --set run.dir=" + run +
           " --set run.checkpoint_every=4 --set budget.amount=24576 " + extra;
  };
  auto ref = test::run_command(cmd(tmp / "ref", ""));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;

  const std::string run = small.mounted() ? small.path() + "/run" : tmp / "run";
  auto r = test::run_command(cmd(run, "--stop-after-steps 8"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string step8 = model::latest_checkpoint(run);
  ASSERT_EQ(fs::path(step8).filename(), "step-00000008");
  const auto step8_files = files_of(step8);

  if (small.mounted()) {
    small.fill(32 << 10);
    r = test::run_command(cmd(run, ""));  // refused before any work: checkpoints cannot fit
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("checkpoints need"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("run.check_resources=false"), std::string::npos) << r.output;
    r = test::run_command(cmd(run, "--set run.check_resources=false"));
    EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  } else {
    const uint64_t opt = fs::file_size(step8 + "/optimizer.safetensors");
    r = test::run_command(size_limited(cmd(run, ""), opt / 2048));
    EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
  }
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("checkpoint of step 12 not written"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("step-00000008 is intact"), std::string::npos) << r.output;
  EXPECT_EQ(model::latest_checkpoint(run), step8);
  EXPECT_EQ(files_of(step8), step8_files);
  for (const auto& e : fs::directory_iterator(run + "/checkpoints"))
    EXPECT_EQ(e.path().extension(), "") << "half-written " << e.path();

  small.drain();
  r = test::run_command(cmd(run, ""));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resuming at step 8"), std::string::npos) << r.output;
  const auto a = io::load_safetensors(model::latest_checkpoint(tmp / "ref") + "/model.safetensors").tensors;
  const auto b = io::load_safetensors(model::latest_checkpoint(run) + "/model.safetensors").tensors;
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, v] : a) EXPECT_TRUE(torch::equal(v, b.at(k))) << k;
}

TEST(FullDisk, CacheChunkWriteFailsCleanlyKeepsFinishedChunksAndResumes) {
  test::TempDir tmp;
  test::SmallFs small(16u << 20);
  const std::string cfg = tmp / "exp.yaml";
  util::write_file_atomic(cfg, test::tiny_experiment_yaml() + "teacher: {checkpoint: " + test::tiny_teacher() +
                                   ", source: cache}\nobjective: {name: hldc}\n");
  auto cmd = [&](const std::string& cache, const std::string& extra) {
    return std::string(HLD_TRAIN_BIN) + " cache-teacher " + cfg +
           " --quiet --chunk-sequences 24 --set teacher.cache=" + cache + " --set budget.amount=30000 " + extra;
  };
  auto ref = test::run_command(cmd(tmp / "ref", ""));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const auto want = files_of(tmp / "ref");

  const std::string cache = small.mounted() ? small.path() + "/cache" : tmp / "cache";
  auto r = test::run_command(cmd(cache, "--stop-after-chunks 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto two = files_of(cache);
  ASSERT_TRUE(two.count("chunk_00001.bin"));

  if (small.mounted()) {
    small.fill(16 << 10);
    r = test::run_command(cmd(cache, ""));  // refused before any work
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("more but the disk has"), std::string::npos) << r.output;
    r = test::run_command(cmd(cache, "--set run.check_resources=false"));
    EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  } else {
    r = test::run_command(size_limited(cmd(cache, ""), fs::file_size(cache + "/chunk_00000.bin") / 2048));
    EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
  }
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("chunk_00002"), std::string::npos) << "the message names the chunk\n" << r.output;
  const auto after = files_of(cache);
  for (const char* kept : {"chunk_00000.bin", "chunk_00001.bin"}) EXPECT_EQ(after.at(kept), two.at(kept)) << kept;
  for (const auto& [name, bytes] : after) EXPECT_EQ(name.find(".tmp"), std::string::npos) << "half-written " << name;

  small.drain();
  r = test::run_command(cmd(cache, ""));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2 chunks already finished"), std::string::npos) << r.output;
  EXPECT_EQ(files_of(cache), want);
}

}  // namespace
}  // namespace hld::train
#endif
