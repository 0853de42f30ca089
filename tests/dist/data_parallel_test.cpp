// Data-parallel training end to end with real processes (hld-train train under
// scripts/launch_local.sh or started by hand with the torchrun variables, Gloo over 127.0.0.1):
// 2 ranks × batch b equal 1 rank × batch 2b (bitwise when that rank accumulates two micro-batches
// of b, which rounds exactly like the all-reduce; to float tolerance without accumulation); a
// killed rank takes its peer down with a clear error in bounded time and the run resumes from its
// last checkpoint on 2 or 1 processes to the same result; inconsistent launch variables exit with
// code 2; the launcher stops a failing job.
#ifdef HLD_TRAIN_BIN

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "dist_test_util.h"
#include "hld/io/safetensors.h"
#include "hld/model/model_io.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace hld::dist {
namespace {

using Clock = std::chrono::steady_clock;
using testing::launch_env;
using testing::Proc;

/// A tiny NLL student on a synthetic split: steps are milliseconds, so the tests stay short.
class DataParallel : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_synthetic_split(dir_ / "train", 256, 600);
    std::ofstream(config_) << "run: {seed: 11, device: cpu, log_every: 5, threads: 1, peak_flops: 1.0e11,"
                              " checkpoint_every: 10, keep_checkpoints: 3}\n"
                              "model: {name: dp_tiny, vocab_size: 256, hidden_size: 32, intermediate_size: 64,"
                              " num_layers: 2, num_heads: 2, num_kv_heads: 1, head_dim: 16,"
                              " query_pre_attn_scalar: 16, sliding_window: 16}\n"
                              "data: {train: "
                           << dir_ / "train"
                           << ", context: 32, batch_size: 4}\n"
                              "optimizer: {lr: 0.003}\n"
                              "schedule: {warmup_steps: 5}\n"
                              "budget: {unit: steps, amount: 20}\n";
  }

  /// `hld-train train` on `n` local processes through scripts/launch_local.sh.
  test::CommandResult launch(int n, const std::string& args) {
    return test::run_command("HLD_TRAIN_BIN=" + std::string(HLD_TRAIN_BIN) + " HLD_DIST_TIMEOUT=30 " +
                             test::repo_path("scripts/launch_local.sh") + " " + std::to_string(n) + " " + config_ +
                             " " + args);
  }

  static void expect_bitwise_equal(const io::TensorMap& a, const io::TensorMap& b, const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (const auto& [k, v] : a) EXPECT_TRUE(torch::equal(v, b.at(k))) << what << ": " << k;
  }

  static io::TensorMap final_params(const std::string& run_dir) {
    const std::string ckpt = model::latest_checkpoint(run_dir);
    EXPECT_FALSE(ckpt.empty()) << run_dir;
    return io::load_safetensors(ckpt + "/model.safetensors").tensors;
  }

  /// Largest |a - b| over all parameters (the maps must hold the same names and shapes).
  static double max_abs_diff(const io::TensorMap& a, const io::TensorMap& b) {
    EXPECT_EQ(a.size(), b.size());
    double m = 0;
    for (const auto& [k, v] : a) {
      auto it = b.find(k);
      if (it == b.end() || it->second.sizes() != v.sizes()) {
        ADD_FAILURE() << "parameter " << k << " missing or reshaped";
        return 1e30;
      }
      m = std::max(m, (v - it->second).abs().max().item<double>());
    }
    return m;
  }

  static std::vector<nlohmann::json> metrics(const std::string& run_dir) {
    std::vector<nlohmann::json> out;
    std::ifstream in(run_dir + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  test::TempDir dir_;
  std::string config_ = dir_ / "dp.yaml";
};

TEST_F(DataParallel, TwoRanksMatchOneRankWithTwiceTheBatch) {
  auto one = test::run_hld("train " + config_ + " --quiet --set run.dir=" + dir_ / "w1" + " --set data.batch_size=8");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  auto acc = test::run_hld("train " + config_ + " --quiet --set run.dir=" + dir_ / "w1a" +
                           " --set data.batch_size=8 --set data.grad_accum=2");
  ASSERT_EQ(acc.exit_code, 0) << acc.output;
  auto two = launch(2, "--quiet --set run.dir=" + dir_ / "w2");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("gloo process group of 2 processes ready"), std::string::npos) << two.output;

  const auto p2 = final_params(dir_ / "w2");
  expect_bitwise_equal(final_params(dir_ / "w1a"), p2, "1 x (2 micro-batches of 4) vs 2 x 4");
  const double diff = max_abs_diff(final_params(dir_ / "w1"), p2);
  EXPECT_LT(diff, 2e-5) << "parameters after 20 steps, 1 x 8 vs 2 x 4";
  std::printf("[ dist     ] max |param(1 x 8) - param(2 x 4)| after 20 steps = %.3g\n", diff);

  // Rank 0 alone logs: one record per logged step, and the counters are global.
  const auto m1 = metrics(dir_ / "w1"), m2 = metrics(dir_ / "w2");
  std::vector<int64_t> steps;
  for (const auto& r : m2)
    if (r.contains("train/loss")) steps.push_back(r["step"].get<int64_t>());
  EXPECT_EQ(steps, (std::vector<int64_t>{5, 10, 15, 20}));
  ASSERT_FALSE(m1.empty());
  ASSERT_FALSE(m2.empty());
  EXPECT_EQ(m2.back()["tokens"], 20 * 8 * 32);
  EXPECT_EQ(m1.back()["tokens"], m2.back()["tokens"]);
  EXPECT_DOUBLE_EQ(m1.back()["flops/spent"].get<double>(), m2.back()["flops/spent"].get<double>());
  for (size_t i = 0; i < std::min(m1.size(), m2.size()); ++i) {
    EXPECT_EQ(m1[i]["step"], m2[i]["step"]);
    if (!m1[i].contains("train/loss")) continue;
    EXPECT_NEAR(m1[i]["train/loss"].get<double>(), m2[i]["train/loss"].get<double>(), 1e-5) << m1[i]["step"];
    // Adam hides a wrong gradient scale in the parameters; the logged norm does not.
    EXPECT_NEAR(m1[i]["optim/grad_norm"].get<double>(), m2[i]["optim/grad_norm"].get<double>(),
                1e-4 * m1[i]["optim/grad_norm"].get<double>())
        << m1[i]["step"];
  }
}

TEST_F(DataParallel, KilledRankStopsItsPeerAndTheRunResumesOnTwoOrOneProcesses) {
  const std::string budget = " --set budget.amount=40";
  auto ref = launch(2, "--quiet --set run.dir=" + dir_ / "ref" + budget);
  ASSERT_EQ(ref.exit_code, 0) << ref.output;

  // Start two ranks by hand; once checkpoint 10 is complete, freeze rank 1 and kill it.
  const std::string run = dir_ / "cut";
  const int port = testing::free_port();
  const std::string args = "train " + config_ + " --quiet --set run.dir=" + run + budget;
  Proc r0(launch_env(0, 2, port), args, dir_ / "r0.log"), r1(launch_env(1, 2, port), args, dir_ / "r1.log");
  const auto t_start = Clock::now();
  bool killed = false;
  while (Clock::now() - t_start < std::chrono::seconds(60)) {
    if (fs::exists(run + "/checkpoints/step-00000010/state.json") ||
        fs::exists(run + "/checkpoints/step-00000020/state.json")) {
      ::kill(r1.pid, SIGSTOP);
      ::kill(r1.pid, SIGKILL);
      killed = true;
      break;
    }
    if (r0.wait(0)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(killed) << "the run ended before a checkpoint appeared:\n" << r0.output();
  const auto t_kill = Clock::now();
  ASSERT_TRUE(r0.wait(20)) << "rank 0 still running 20 s after its peer was killed:\n" << r0.output();
  const double react = std::chrono::duration<double>(Clock::now() - t_kill).count();
  r1.wait(5);
  EXPECT_EQ(r0.status, kExitRequeue) << r0.output();  // a peer failure: requeue and resume
  EXPECT_NE(r0.output().find("[dist] gradient all-reduce failed on rank 0 of 2"), std::string::npos) << r0.output();
  EXPECT_NE(r0.output().find("peer rank 1 ("), std::string::npos) << r0.output();
  std::printf("[ dist     ] rank 0 exited %.2f s after rank 1 was killed\n", react);

  const std::string last = model::latest_checkpoint(run);
  ASSERT_FALSE(last.empty());
  const auto reached = nlohmann::json::parse(util::read_file(last + "/state.json"))["step"].get<int64_t>();
  EXPECT_LT(reached, 40) << "the killed run must not have finished";
  fs::copy(run, dir_ / "cut1", fs::copy_options::recursive);
  fs::copy(run, dir_ / "cut1a", fs::copy_options::recursive);

  // Ranks that see different checkpoints (run.dir not shared between nodes) refuse together.
  {
    const int p2 = testing::free_port();
    Proc a(launch_env(0, 2, p2), args, dir_ / "s0.log"),
        b(launch_env(1, 2, p2), "train " + config_ + " --quiet --set run.dir=" + dir_ / "elsewhere" + budget,
          dir_ / "s1.log");
    ASSERT_TRUE(a.wait(30) && b.wait(30));
    EXPECT_EQ(a.status, 2) << a.output();
    EXPECT_EQ(b.status, 2) << b.output();
    EXPECT_NE(b.output().find("the ranks see different checkpoints or configurations"), std::string::npos)
        << b.output();
  }

  // Resume on 2 processes: the same computation as the uninterrupted run.
  auto two = launch(2, "--quiet --set run.dir=" + run + budget);
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const auto ref_params = final_params(dir_ / "ref");
  expect_bitwise_equal(ref_params, final_params(run), "resumed on 2 processes vs uninterrupted");
  // Resume on 1 process with the same global batch: two accumulated micro-batches of 4 round
  // exactly like the all-reduce (bitwise), one batch of 8 to float tolerance.
  auto one_acc = test::run_hld("train " + config_ + " --quiet --set run.dir=" + dir_ / "cut1a" + budget +
                               " --set data.batch_size=8 --set data.grad_accum=2");
  ASSERT_EQ(one_acc.exit_code, 0) << one_acc.output;
  expect_bitwise_equal(ref_params, final_params(dir_ / "cut1a"), "resumed on 1 process x 2 micro-batches");
  auto one = test::run_hld("train " + config_ + " --quiet --set run.dir=" + dir_ / "cut1" + budget +
                           " --set data.batch_size=8");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  // Without accumulation the batch mean rounds differently; after 30 steps at η = 3e-3 that
  // has grown to ~3e-4 here (rounding: different batches would move parameters apart by ~η a step).
  const double d1 = max_abs_diff(ref_params, final_params(dir_ / "cut1"));
  EXPECT_LT(d1, 2e-3);
  EXPECT_NEAR(metrics(dir_ / "cut1").back()["train/loss"].get<double>(),
              metrics(dir_ / "ref").back()["train/loss"].get<double>(), 1e-3);
  std::printf(
      "[ dist     ] killed at step %lld; resumed to step 40: bitwise equal to the uninterrupted run on 2 "
      "processes and on 1 x 2 micro-batches; max |diff| %.3g on 1 x 8\n",
      static_cast<long long>(reached), d1);
  const auto m = metrics(dir_ / "cut1");
  ASSERT_FALSE(m.empty());
  EXPECT_EQ(m.back()["step"], 40);
}

TEST_F(DataParallel, InconsistentLaunchVariablesExitWithCode2) {
  const std::string args = "train " + config_ + " --quiet --set run.dir=" + dir_ / "bad";
  struct Case {
    std::string env, expect;
  };
  const std::vector<Case> cases = {
      {"RANK=2 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1234", "RANK=2 is not below WORLD_SIZE=2"},
      {"RANK=0 WORLD_SIZE=2 MASTER_PORT=1234", "MASTER_ADDR: not set"},
      {"RANK=0 WORLD_SIZE=two MASTER_ADDR=127.0.0.1 MASTER_PORT=1234", "WORLD_SIZE='two'"},
      {"WORLD_SIZE=2", "RANK: not set"},
      {"RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1234 HLD_DIST_TIMEOUT=forever", "HLD_DIST_TIMEOUT"},
  };
  for (const auto& c : cases) {
    auto r = test::run_command("env " + c.env + " " + HLD_TRAIN_BIN + " " + args);
    EXPECT_EQ(r.exit_code, 2) << c.env << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.env << "\n" << r.output;
  }
  // Two processes that disagree on WORLD_SIZE: the odd one out says so (exit 2), rank 0 stops too.
  const int port = testing::free_port();
  Proc r0(launch_env(0, 2, port), args, dir_ / "a.log"),
      r1("RANK=1 WORLD_SIZE=3 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " HLD_DIST_TIMEOUT=30", args,
         dir_ / "b.log");
  ASSERT_TRUE(r1.wait(30));
  ASSERT_TRUE(r0.wait(30));
  EXPECT_EQ(r1.status, 2) << r1.output();
  EXPECT_NE(r1.output().find("WORLD_SIZE=3 on rank 1 but rank 0 has WORLD_SIZE=2"), std::string::npos) << r1.output();
  EXPECT_NE(r0.status, 0) << r0.output();
}

TEST_F(DataParallel, RendezvousWithAMissingRankTimesOut) {
  const int port = testing::free_port();
  const auto t0 = Clock::now();
  auto r = test::run_command("env RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
                             " HLD_DIST_TIMEOUT=1.5 " + HLD_TRAIN_BIN + " train " + config_ +
                             " --quiet --set run.dir=" + dir_ / "alone");
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("timed out after 1.5 s: 1 of 2 processes joined"), std::string::npos) << r.output;
  EXPECT_LT(s, 15);
}

TEST_F(DataParallel, LauncherStopsTheOtherRanksWhenOneFails) {
  // A stand-in binary: rank 1 fails at once, rank 0 would sleep for a minute.
  const std::string fake = dir_ / "fake-train.sh";
  std::ofstream(fake) << "#!/bin/sh\nif [ \"$RANK\" = 1 ]; then echo \"rank 1 fails\"; exit 3; fi\nexec sleep 60\n";
  fs::permissions(fake, fs::perms::owner_all);
  const auto t0 = Clock::now();
  auto r = test::run_command("HLD_TRAIN_BIN=" + fake + " HLD_LAUNCH_GRACE=2 " +
                             test::repo_path("scripts/launch_local.sh") + " 2 " + config_);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("[rank 1] rank 1 fails"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank 1 exited with status 3; stopping the other ranks"), std::string::npos) << r.output;
  EXPECT_LT(s, 15);
  auto bad = test::run_command(test::repo_path("scripts/launch_local.sh") + " zero " + config_);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}

}  // namespace
}  // namespace hld::dist

#endif  // HLD_TRAIN_BIN
