// Wall-clock limits: run.time_limit (and Slurm's SLURM_JOB_END_TIME) stop a run before the limit
// with a checkpoint and exit code 75; rerunning until it finishes, as a requeueing scheduler does,
// ends bitwise at the uninterrupted run's weights with its metrics. scripts/launch_slurm.sh
// requeues exactly on 75 (srun and scontrol stood in for by scripts, hld-train real).
#ifdef HLD_TRAIN_BIN

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "stop_test_util.h"

namespace fs = std::filesystem;

namespace hld::train {
namespace {

constexpr int64_t kSteps = 1500;  // ~4 s uninterrupted on one core, with the process start

TEST(TimeLimit, RunStopsBeforeItsLimitAndRerunsFinishBitwise) {
  test::TempDir dir;
  const std::string cfg = test::write_stop_config(dir, kSteps, 500);
  const double t0 = test::now_s();
  auto full = test::run_hld("train " + cfg + " --quiet --set run.dir=" + dir / "full");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const double t_full = test::now_s() - t0;
  // A limit at ~60 % of the uninterrupted run: at least one stop, at most a few.
  const double limit = std::max(2.0, 0.6 * t_full);
  const std::string run = dir / "cut", cmd = "train " + cfg + " --quiet --set run.dir=" + run +
                                             " --set run.time_limit=" + std::to_string(limit) + "s";
  int stops = 0;
  test::CommandResult r{};
  for (int i = 0; i < 8; ++i) {
    const double t = test::now_s();
    r = test::run_hld(cmd);
    const double took = test::now_s() - t;
    if (r.exit_code != kExitRequeue) break;
    ++stops;
    EXPECT_LT(took, limit) << "stop " << stops << " came after the limit: " << r.output;
    EXPECT_NE(r.output.find("stopped by the time limit (run.time_limit)"), std::string::npos) << r.output;
    std::printf("[ limit    ] run.time_limit %.2f s: stopped after %.2f s at step %lld\n", limit, took,
                static_cast<long long>(test::checkpoint_step(model::latest_checkpoint(run))));
  }
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(stops, 1) << "the uninterrupted run took " << t_full << " s against a limit of " << limit << " s";
  test::expect_bitwise_equal(test::final_params(dir / "full"), test::final_params(run), "after the time-limit stops");
  test::expect_same_metrics(dir / "full", run);
}

TEST(TimeLimit, SlurmJobEndTimeStopsTheRunBeforeIt) {
  test::TempDir dir;
  const std::string cfg = test::write_stop_config(dir, 100000, 0);  // far more than the seconds given
  const long end = static_cast<long>(std::time(nullptr)) + 4;
  const double t = test::now_s();
  auto r = test::run_command("SLURM_JOB_END_TIME=" + std::to_string(end) + " " + HLD_TRAIN_BIN + " train " + cfg +
                             " --quiet --set run.dir=" + dir / "r");
  const double took = test::now_s() - t;
  EXPECT_EQ(r.exit_code, kExitRequeue) << r.output;
  EXPECT_NE(r.output.find("stopped by the time limit (the Slurm job's end time (SLURM_JOB_END_TIME))"),
            std::string::npos)
      << r.output;
  EXPECT_LT(took, 4.5) << r.output;
  EXPECT_GT(test::checkpoint_step(model::latest_checkpoint(dir / "r")), 0);
}

TEST(SlurmScript, RequeuesTheJobExactlyWhenTrainExitsWith75) {
  test::TempDir dir;
  const std::string cfg = test::write_stop_config(dir, 400, 100);
  fs::create_directories(dir / "bin");
  // srun runs its command here; scontrol names this host and records what else it is asked.
  std::ofstream(dir / "bin/srun") << "#!/bin/sh\nexec \"$@\"\n";
  std::ofstream(dir / "bin/scontrol") << "#!/bin/sh\nif [ \"$1\" = show ]; then echo 127.0.0.1; exit 0; fi\n"
                                         "echo \"$@\" >> "
                                      << dir / "scontrol.log"
                                      << "\n";
  for (const char* f : {"bin/srun", "bin/scontrol"}) fs::permissions(dir / f, fs::perms::owner_all);
  auto job = [&](const std::string& args) {
    return test::run_command("PATH=" + dir / "bin" +
                             ":$PATH SLURM_JOB_ID=4242 SLURM_JOB_NODELIST=node01 HLD_TRAIN_BIN=" + HLD_TRAIN_BIN +
                             " bash " + test::repo_path("scripts/launch_slurm.sh") + " " + cfg +
                             " --quiet --set run.dir=" + dir / "r" + " " + args);
  };
  auto requeues = [&] { return fs::exists(dir / "scontrol.log") ? util::read_file(dir / "scontrol.log") : ""; };
  auto bad = job("--set run.time_limit=soon");  // bad input: exit 2, not requeued
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_EQ(requeues(), "");
  auto stopped = job("--set run.time_limit=1.5s");  // stops with a checkpoint: requeued
  EXPECT_EQ(stopped.exit_code, kExitRequeue) << stopped.output;
  EXPECT_EQ(requeues(), "requeue 4242\n") << stopped.output;
  EXPECT_NE(stopped.output.find("requeueing job 4242"), std::string::npos) << stopped.output;
  auto done = job("");  // the requeued job finishes: not requeued again
  EXPECT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(requeues(), "requeue 4242\n");
  EXPECT_NE(done.output.find("resuming at step"), std::string::npos) << done.output;
}

}  // namespace
}  // namespace hld::train

#endif  // HLD_TRAIN_BIN
