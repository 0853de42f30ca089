// ZeRO-1 (run.zero: 1) with real processes (Gloo over 127.0.0.1): 2 ranks with sharded AdamW
// state end bitwise equal to 2 ranks without it, for NLL and for HLDF (whose hint phase trains a
// parameter subset, so the slices follow the phase's parameters), also with activation
// checkpointing, which through `train` changes no bit either; its checkpoints are the same
// files as a plain run's and resume on 1 or 2 processes with or without ZeRO; each rank's measured
// optimizer state is half the replicated one; a killed rank stops its peer; run.zero: 2 exits 2.
#ifdef HLD_TRAIN_BIN

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "dist_test_util.h"
#include "hld/io/safetensors.h"
#include "hld/model/model_io.h"
#include "hld/util/fs.h"
#include "hld/util/error.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace hld::dist {
namespace {

using Clock = std::chrono::steady_clock;
using testing::launch_env;
using testing::Proc;

class Zero : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_synthetic_split(dir_ / "train", 256, 600);
    std::ofstream(config_) << "run: {seed: 5, device: cpu, log_every: 5, threads: 1, peak_flops: 1.0e11,"
                              " checkpoint_every: 10, keep_checkpoints: 5}\n"
                              "model: {name: zero_tiny, vocab_size: 256, hidden_size: 32, intermediate_size: 64,"
                              " num_layers: 4, num_heads: 2, num_kv_heads: 1, head_dim: 16,"
                              " query_pre_attn_scalar: 16, sliding_window: 16, sliding_window_pattern: 2}\n"
                              "data: {train: "
                           << dir_ / "train"
                           << ", context: 32, batch_size: 4}\n"
                              "optimizer: {lr: 0.003}\n"
                              "schedule: {warmup_steps: 5, hint_warmup_steps: 3}\n"
                              "budget: {unit: steps, amount: 20}\n";
  }

  /// `hld-train train` on `n` local processes (scripts/launch_local.sh); small buckets, so the
  /// parameters span several of them and each bucket is cut between the ranks.
  test::CommandResult launch(int n, const std::string& args) {
    return test::run_command("HLD_TRAIN_BIN=" + std::string(HLD_TRAIN_BIN) + " HLD_DIST_TIMEOUT=30 " +
                             "HLD_DIST_BUCKET_MB=0.01 " + test::repo_path("scripts/launch_local.sh") + " " +
                             std::to_string(n) + " " + config_ + " " + args);
  }

  static io::TensorMap file(const std::string& run_dir, const std::string& step, const std::string& name) {
    const std::string dir = step.empty() ? model::latest_checkpoint(run_dir) : run_dir + "/checkpoints/" + step;
    EXPECT_TRUE(fs::exists(dir + "/" + name)) << dir << "/" << name;
    return io::load_safetensors(dir + "/" + name).tensors;
  }

  static void expect_bitwise_equal(const io::TensorMap& a, const io::TensorMap& b, const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    ASSERT_FALSE(a.empty()) << what;
    for (const auto& [k, v] : a) {
      ASSERT_TRUE(b.count(k)) << what << ": " << k;
      EXPECT_TRUE(torch::equal(v, b.at(k)))
          << what << ": " << k << " differs by " << (v - b.at(k)).abs().max().item<double>();
    }
  }

  /// "[rank r] ... optimizer state N bytes" per rank for the phase named `phase`.
  static std::map<int, int64_t> state_bytes(const std::string& out, const std::string& phase) {
    std::map<int, int64_t> m;
    const std::regex re("rank (\\d+) of \\d+: phase '" + phase + "' optimizer state (\\d+) bytes");
    for (std::sregex_iterator it(out.begin(), out.end(), re), end; it != end; ++it)
      m[std::stoi((*it)[1])] = std::stoll((*it)[2]);
    return m;
  }

  test::TempDir dir_;
  std::string config_ = dir_ / "zero.yaml";
};

TEST_F(Zero, NllTwoRanksBitwiseEqualToPlainAndStateHalves) {
  auto plain = launch(2, "--quiet --set run.dir=" + dir_ / "plain");
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  auto zero = launch(2, "--quiet --set run.dir=" + dir_ / "zero --set run.zero=1");
  ASSERT_EQ(zero.exit_code, 0) << zero.output;
  expect_bitwise_equal(file(dir_ / "plain", "", "model.safetensors"), file(dir_ / "zero", "", "model.safetensors"),
                       "final weights, ZeRO-1 vs plain");
  // Mid-run checkpoints: ZeRO-1 gathers its slices into the same optimizer file as a plain run.
  // (The final checkpoint of a finished run holds no optimizer state.)
  expect_bitwise_equal(file(dir_ / "plain", "step-00000010", "optimizer.safetensors"),
                       file(dir_ / "zero", "step-00000010", "optimizer.safetensors"), "optimizer at step 10");
  // Through `train`, one process: activation checkpointing (every 2nd block) changes no bit.
  auto one = test::run_hld("train " + config_ + " --quiet --set run.dir=" + dir_ / "one");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  auto one_ck = test::run_hld("train " + config_ + " --quiet --set run.dir=" + dir_ / "one_ck" +
                              " --set run.activation_checkpointing=every_k --set run.activation_checkpointing_k=2");
  ASSERT_EQ(one_ck.exit_code, 0) << one_ck.output;
  expect_bitwise_equal(file(dir_ / "one", "", "model.safetensors"), file(dir_ / "one_ck", "", "model.safetensors"),
                       "activation checkpointing every 2nd block vs none");
  const auto full = state_bytes(plain.output, "train"), sharded = state_bytes(zero.output, "train");
  ASSERT_EQ(full.size(), 2u) << plain.output;
  ASSERT_EQ(sharded.size(), 2u) << zero.output;
  EXPECT_EQ(full.at(0), full.at(1));
  EXPECT_EQ(sharded.at(0) + sharded.at(1), full.at(0)) << "the slices cover the parameters exactly once";
  for (const auto& [r, b] : sharded)
    EXPECT_NEAR(static_cast<double>(b) / static_cast<double>(full.at(0)), 0.5, 0.02) << "rank " << r;
  std::printf("[ zero     ] optimizer state per rank: replicated %lld B, ZeRO-1 %lld + %lld B\n",
              static_cast<long long>(full.at(0)), static_cast<long long>(sharded.at(0)),
              static_cast<long long>(sharded.at(1)));
}

TEST_F(Zero, ThreeRanksUnevenSlicesBitwiseEqualToPlain) {
  // Three ranks: bucket cuts fall inside tensors at uneven, 64-aligned places.
  auto plain = launch(3, "--quiet --set run.dir=" + dir_ / "plain3");
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  auto zero = launch(3, "--quiet --set run.dir=" + dir_ / "zero3 --set run.zero=1");
  ASSERT_EQ(zero.exit_code, 0) << zero.output;
  expect_bitwise_equal(file(dir_ / "plain3", "", "model.safetensors"), file(dir_ / "zero3", "", "model.safetensors"),
                       "3 ranks, final weights");
  expect_bitwise_equal(file(dir_ / "plain3", "step-00000010", "optimizer.safetensors"),
                       file(dir_ / "zero3", "step-00000010", "optimizer.safetensors"), "3 ranks, optimizer at step 10");
  const auto sharded = state_bytes(zero.output, "train"), full = state_bytes(plain.output, "train");
  ASSERT_EQ(sharded.size(), 3u) << zero.output;
  EXPECT_EQ(sharded.at(0) + sharded.at(1) + sharded.at(2), full.at(0));
}

TEST_F(Zero, HldfBothPhasesBitwiseEqualToPlain) {
  // A teacher trained for a few steps on the same split (wider, same vocabulary).
  auto teacher = test::run_hld("train " + config_ + " --quiet --set run.dir=" + dir_ / "teacher" +
                               " --set model.hidden_size=48 --set model.name=zero_teacher --set budget.amount=10");
  ASSERT_EQ(teacher.exit_code, 0) << teacher.output;
  const std::string hldf =
      "--quiet --set objective.name=hldf --set objective.top_k=16 --set teacher.checkpoint=" + dir_ / "teacher" +
      " --set budget.amount=24 --set objective.p1=0.4 --set run.checkpoint_every=3 --set run.keep_checkpoints=20";
  auto plain = launch(2, hldf + " --set run.dir=" + dir_ / "plain");
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  // ZeRO-1 together with activation checkpointing of every block: still the same computation.
  auto zero =
      launch(2, hldf + " --set run.dir=" + dir_ / "zero --set run.zero=1 --set run.activation_checkpointing=blocks");
  ASSERT_EQ(zero.exit_code, 0) << zero.output;
  const auto hint_full = state_bytes(plain.output, "hint"), hint_zero = state_bytes(zero.output, "hint");
  const auto kd_full = state_bytes(plain.output, "kd"), kd_zero = state_bytes(zero.output, "kd");
  ASSERT_EQ(hint_zero.size(), 2u) << zero.output;
  ASSERT_EQ(kd_zero.size(), 2u) << zero.output;
  // The hint phase trains a subset (embedding, first blocks, regressor): its own slices.
  EXPECT_NE(hint_full.at(0), kd_full.at(0));
  EXPECT_EQ(hint_zero.at(0) + hint_zero.at(1), hint_full.at(0));
  EXPECT_EQ(kd_zero.at(0) + kd_zero.at(1), kd_full.at(0));
  // Every checkpoint (phase 1 with its regressor, phase 2, final) holds the same tensors.
  std::map<std::string, int> compared;
  for (const auto& d : model::checkpoint_dirs(dir_ / "plain")) {
    const std::string step = fs::path(d).filename().string();
    for (const char* f : {"model.safetensors", "optimizer.safetensors", "regressor.safetensors"}) {
      if (!fs::exists(d + "/" + f) || io::load_safetensors(d + "/" + f).tensors.empty()) continue;
      expect_bitwise_equal(file(dir_ / "plain", step, f), file(dir_ / "zero", step, f), step + "/" + f);
      ++compared[f];
    }
  }
  EXPECT_GE(compared["regressor.safetensors"], 1) << "no hint-phase checkpoint compared";
  EXPECT_GE(compared["optimizer.safetensors"], 3);
}

TEST_F(Zero, ResumesTwoToOneAndOneToTwoWithOrWithoutZero) {
  auto ref = launch(2, "--quiet --set run.dir=" + dir_ / "ref");
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const auto ref_model = file(dir_ / "ref", "", "model.safetensors");
  // 2 ranks with ZeRO-1 stop at step 10; 1 process (2 micro-batches of 4: the all-reduce's
  // rounding) finishes.
  auto a = launch(2, "--quiet --stop-after-steps 10 --set run.zero=1 --set run.dir=" + dir_ / "two_one");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  auto a1 = test::run_hld("train " + config_ + " --quiet --set run.dir=" + dir_ / "two_one" +
                          " --set data.batch_size=8 --set data.grad_accum=2");
  ASSERT_EQ(a1.exit_code, 0) << a1.output;
  expect_bitwise_equal(ref_model, file(dir_ / "two_one", "", "model.safetensors"), "2 (ZeRO-1) -> 1");
  // 1 process stops at step 10; 2 ranks with ZeRO-1 finish.
  auto b = test::run_hld("train " + config_ + " --quiet --stop-after-steps 10 --set run.dir=" + dir_ / "one_two" +
                         " --set data.batch_size=8 --set data.grad_accum=2");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  auto b2 = launch(2, "--quiet --set run.zero=1 --set run.dir=" + dir_ / "one_two");
  ASSERT_EQ(b2.exit_code, 0) << b2.output;
  expect_bitwise_equal(ref_model, file(dir_ / "one_two", "", "model.safetensors"), "1 -> 2 (ZeRO-1)");
}

TEST_F(Zero, KilledRankStopsItsPeer) {
  const std::string run = dir_ / "cut";
  const int port = testing::free_port();
  const std::string args =
      "train " + config_ + " --quiet --set run.zero=1 --set budget.amount=400 --set run.dir=" + run;
  Proc r0(launch_env(0, 2, port), args, dir_ / "r0.log"), r1(launch_env(1, 2, port), args, dir_ / "r1.log");
  const auto t0 = Clock::now();
  bool killed = false;
  while (Clock::now() - t0 < std::chrono::seconds(60)) {
    if (fs::exists(run + "/checkpoints/step-00000010/state.json")) {
      ::kill(r1.pid, SIGKILL);
      killed = true;
      break;
    }
    if (r0.wait(0)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(killed) << r0.output();
  ASSERT_TRUE(r0.wait(30)) << "rank 0 still running 30 s after its peer was killed:\n" << r0.output();
  r1.wait(5);
  EXPECT_EQ(r0.status, kExitRequeue) << r0.output();  // a peer failure: requeue and resume
  const std::string out = r0.output();
  EXPECT_TRUE(out.find("failed on rank 0 of 2") != std::string::npos &&
              out.find("peer rank 1 (") != std::string::npos && out.find("exited or hung") != std::string::npos)
      << out;
}

TEST_F(Zero, BadValuesExit2NamingTheKey) {
  for (const std::string set :
       {"run.zero=2", "run.zero=-1", "run.activation_checkpointing=sometimes", "run.activation_checkpointing_k=0"}) {
    auto r = test::run_hld("train " + config_ + " --quiet --set run.dir=" + dir_ / "bad" + " --set " + set);
    EXPECT_EQ(r.exit_code, 2) << set << "\n" << r.output;
    EXPECT_NE(r.output.find(set.substr(0, set.find('='))), std::string::npos) << set << "\n" << r.output;
  }
}

}  // namespace
}  // namespace hld::dist

#endif  // HLD_TRAIN_BIN
