// Crash safety at named fault points (util/fault.h) instead of random moments: SIGKILL after a
// checkpoint's model file, before its state.json rename, before its directory rename and at
// HLDF's phase boundary, each really hit (the process says so), each resumed to the uninterrupted
// run's weights bitwise and to its metrics record for record. A flipped byte in a checkpoint's
// model or optimizer file is refused with exit code 2 naming the file; a metrics file that cannot
// be written stops the run naming it.
#ifdef HLD_TRAIN_BIN

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "hld/train/run_dir.h"
#include "hld/util/fs.h"
#include "stop_test_util.h"
#include "train_fixture.h"

namespace fs = std::filesystem;

namespace hld::train {
namespace {

using dist::testing::Proc;

/// The half-written checkpoint directories (*.tmp) of a run, and whether each has `file`.
std::vector<std::string> tmp_checkpoints(const std::string& run) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints"))
    if (e.path().extension() == ".tmp") out.push_back(e.path().string());
  return out;
}

bool has_file_starting(const std::string& dir, const std::string& prefix) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) return true;
  return false;
}

/// Runs `args` with HLD_FAULT=point (its `hit`-th pass) and expects it to die there by SIGKILL.
void kill_at(const std::string& point, int hit, const std::string& args, const std::string& log) {
  Proc p("HLD_FAULT=" + point + " HLD_FAULT_HIT=" + std::to_string(hit), args, log);
  ASSERT_TRUE(p.wait(120)) << p.output();
  EXPECT_EQ(p.signal, SIGKILL) << "status " << p.status << ": " << p.output();
  EXPECT_NE(p.output().find("[fault] " + point + ": SIGKILL"), std::string::npos) << p.output();
}

TEST(CheckpointFaults, KilledInsideACheckpointWriteResumesBitwiseWithContinuousMetrics) {
  test::TempDir dir;
  const std::string cfg = test::write_stop_config(dir, 40, 10);
  auto full = test::run_hld("train " + cfg + " --quiet --set run.dir=" + dir / "full");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  struct Case {
    std::string point;
    bool model, state_tmp, state;  // what the half-written step-20 checkpoint holds
  };
  for (const Case& c :
       {Case{"checkpoint.model_written", true, false, false}, Case{"checkpoint.before_state_rename", true, true, false},
        Case{"checkpoint.before_dir_rename", true, false, true}}) {
    SCOPED_TRACE(c.point);
    const std::string run = dir / c.point, args = "train " + cfg + " --quiet --set run.dir=" + run;
    kill_at(c.point, /*hit=*/2, args, dir / (c.point + ".log"));  // inside step 20's checkpoint
    const auto tmp = tmp_checkpoints(run);
    ASSERT_EQ(tmp.size(), 1u);
    EXPECT_EQ(fs::path(tmp[0]).stem().string(), "step-00000020");
    EXPECT_EQ(fs::exists(tmp[0] + "/model.safetensors"), c.model);
    EXPECT_EQ(has_file_starting(tmp[0], "state.json.tmp."), c.state_tmp);
    EXPECT_EQ(fs::exists(tmp[0] + "/state.json"), c.state);
    EXPECT_EQ(test::checkpoint_step(model::latest_checkpoint(run)), 10);
    EXPECT_EQ(test::read_metrics(run).size(), 20u);  // records past the checkpoint: the resume drops them

    auto rest = test::run_hld(args);
    ASSERT_EQ(rest.exit_code, 0) << rest.output;
    EXPECT_NE(rest.output.find("resuming at step 10"), std::string::npos) << rest.output;
    EXPECT_TRUE(tmp_checkpoints(run).empty());
    test::expect_bitwise_equal(test::final_params(dir / "full"), test::final_params(run), c.point);
    test::expect_same_metrics(dir / "full", run);
  }
}

TEST(CheckpointFaults, KilledAtTheHldfPhaseBoundaryResumesBitwise) {
  test::TempDir dir;
  const std::string cfg = dir / "exp.yaml";
  util::write_file_atomic(
      cfg, test::tiny_experiment_yaml() + "teacher: {checkpoint: " + test::tiny_teacher() + ", source: online}\n");
  auto args = [&](const std::string& run) {
    return "train " + cfg + " --quiet --set objective.name=hldf --set run.dir=" + run +
           " --set run.checkpoint_every=3 --set run.log_every=1 --set budget.amount=40000";
  };
  auto full = test::run_hld(args(dir / "full"));
  ASSERT_EQ(full.exit_code, 0) << full.output;
  kill_at("train.phase_boundary", 1, args(dir / "cut"), dir / "cut.log");
  // Killed after the hint phase's last step, before the KD phase began: the last checkpoint is
  // inside the hint phase.
  const std::string last = model::latest_checkpoint(dir / "cut");
  ASSERT_FALSE(last.empty());
  EXPECT_EQ(nlohmann::json::parse(util::read_file(last + "/state.json"))["phase"], 0);
  auto rest = test::run_hld(args(dir / "cut"));
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  test::expect_bitwise_equal(test::final_params(dir / "full"), test::final_params(dir / "cut"), "HLDF");
  test::expect_same_metrics(dir / "full", dir / "cut");
}

TEST(CheckpointFaults, AFlippedByteInTheModelOrOptimizerFileIsRefusedNamingIt) {
  test::TempDir dir;
  const std::string cfg = test::write_stop_config(dir, 12, 4);
  const std::string run = dir / "r", args = "train " + cfg + " --quiet --set run.dir=" + run;
  auto part = test::run_hld(args + " --stop-after-steps 8");
  ASSERT_EQ(part.exit_code, 0) << part.output;
  const std::string ckpt = model::latest_checkpoint(run);
  ASSERT_EQ(test::checkpoint_step(ckpt), 8);
  for (const char* file : {"model.safetensors", "optimizer.safetensors"}) {
    SCOPED_TRACE(file);
    const std::string path = ckpt + "/" + file;
    const std::string good = util::read_file(path);
    std::string bad = good;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x01);  // one bit of one weight
    util::write_file_atomic(path, bad);
    auto r = test::run_hld(args);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("checkpoint file '" + std::string(file) + "' is corrupt"), std::string::npos) << r.output;
    EXPECT_EQ(test::checkpoint_step(model::latest_checkpoint(run)), 8) << "the refused resume wrote a checkpoint";
    util::write_file_atomic(path, good);
  }
  auto ok = test::run_hld(args);  // the control: the same files unflipped resume
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

// Unit: a metrics record that cannot be written (a full disk: /dev/full) is an error naming the file.
TEST(MetricsLogWrite, AFailedWriteThrowsNamingTheFile) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this machine";
  MetricsLog log("/dev/full", 0);
  try {
    log.write({{"step", 1}, {"train/loss", 1.0}});
    FAIL() << "a record written to /dev/full was reported as written";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write metrics file '/dev/full'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hld::train

#endif  // HLD_TRAIN_BIN
