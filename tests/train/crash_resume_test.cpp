// Crash safety of `hld-train train`: SIGKILL at random moments (start-up, mid-step, mid-checkpoint
// write, the HLDF phase boundary) never costs more than the steps since the last checkpoint, and
// the resumed run ends bitwise equal to an uninterrupted one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "hld/io/safetensors.h"
#include "hld/model/model_io.h"
#include "hld/util/fs.h"
#include "test_util.h"
#include "train_fixture.h"

#ifdef HLD_TRAIN_BIN
namespace hld::train {
namespace {

namespace fs = std::filesystem;

TEST(TrainCrashSafety, KillNineAtRandomPointsThenResumeIsBitwiseExact) {
  test::TempDir dir;
  const std::string cfg = dir / "exp.yaml";
  util::write_file_atomic(
      cfg, test::tiny_experiment_yaml() + "teacher: {checkpoint: " + test::tiny_teacher() + ", source: online}\n");
  auto cmd = [&](const std::string& run) {
    return std::string(HLD_TRAIN_BIN) + " train " + cfg + " --quiet --set objective.name=hldf --set run.dir=" + run +
           " --set run.checkpoint_every=3 --set budget.amount=120000";
  };
  const double t0 = test::now_s();
  auto full = test::run_command(cmd(dir / "full"));
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const double t_full = test::now_s() - t0;

  const auto kr = test::run_with_kills(cmd(dir / "cut"), test::kill_delays(t_full, 6, /*seed=*/11));
  ASSERT_EQ(kr.final.exit_code, 0) << kr.final.output;
  EXPECT_GE(kr.kills, 5) << "uninterrupted run took " << t_full << " s";
  EXPECT_NE(kr.final.output.find("resuming at step"), std::string::npos) << kr.final.output;

  const auto a = io::load_safetensors(model::latest_checkpoint(dir / "full") + "/model.safetensors").tensors;
  const auto b = io::load_safetensors(model::latest_checkpoint(dir / "cut") + "/model.safetensors").tensors;
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, v] : a) EXPECT_TRUE(torch::equal(v, b.at(k))) << k;
  // Nothing half-written is left behind.
  for (const auto& e : fs::directory_iterator(dir / "cut/checkpoints"))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace hld::train
#endif
