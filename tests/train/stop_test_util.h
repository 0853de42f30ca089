// Helpers for the tests that stop training runs from outside (signals, time limits, fault points,
// a failing network): a tiny NLL experiment on a synthetic split whose steps take milliseconds
// and which logs every step, its metrics and final weights, and waiting for a run to reach a step.
#pragma once

#ifdef HLD_TRAIN_BIN

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../dist/dist_test_util.h"
#include "hld/io/safetensors.h"
#include "hld/model/model_io.h"
#include "test_util.h"

namespace hld::test {

/// A synthetic split in DIR/train and DIR/stop.yaml: a tiny NLL student, `steps` optimizer steps,
/// a metrics record every step, a checkpoint every `checkpoint_every` steps. Returns the config.
inline std::string write_stop_config(const TempDir& dir, int64_t steps, int64_t checkpoint_every) {
  dist::testing::write_synthetic_split(dir / "train", 256, 600);
  const std::string cfg = dir / "stop.yaml";
  std::ofstream(cfg) << "run: {seed: 5, device: cpu, log_every: 1, threads: 1, peak_flops: 1.0e11,"
                        " checkpoint_every: "
                     << checkpoint_every
                     << ", keep_checkpoints: 3}\n"
                        "model: {name: stop_tiny, vocab_size: 256, hidden_size: 32, intermediate_size: 64,"
                        " num_layers: 2, num_heads: 2, num_kv_heads: 1, head_dim: 16,"
                        " query_pre_attn_scalar: 16, sliding_window: 16}\n"
                        "data: {train: "
                     << dir / "train"
                     << ", context: 32, batch_size: 4}\n"
                        "optimizer: {lr: 0.003}\n"
                        "schedule: {warmup_steps: 5}\n"
                        "budget: {unit: steps, amount: "
                     << steps << "}\n";
  return cfg;
}

/// RUN/metrics.jsonl, one object per line.
inline std::vector<nlohmann::json> read_metrics(const std::string& run_dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

/// Lines in RUN/metrics.jsonl so far (a run that logs every step: the steps it has done).
inline int64_t metrics_lines(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

/// A metrics record without what depends on the clock or the machine (throughput, ETA, memory).
inline nlohmann::json without_timing(nlohmann::json r) {
  for (const char* k : {"throughput/tokens_per_s", "throughput/mfu", "time/eta_s", "memory/train_peak_bytes",
                        "memory/valid_peak_bytes"})
    r.erase(k);
  return r;
}

/// `cut` holds exactly the records of the uninterrupted run `full`, one per step, timing aside.
inline void expect_same_metrics(const std::string& full, const std::string& cut) {
  const auto a = read_metrics(full), b = read_metrics(cut);
  ASSERT_FALSE(a.empty()) << full;
  ASSERT_EQ(a.size(), b.size()) << "records in " << full << " and " << cut;
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(without_timing(a[i]), without_timing(b[i])) << "record " << i << " of " << cut;
}

/// The newest complete checkpoint's model tensors.
inline io::TensorMap final_params(const std::string& run_dir) {
  const std::string ckpt = model::latest_checkpoint(run_dir);
  EXPECT_FALSE(ckpt.empty()) << run_dir;
  return ckpt.empty() ? io::TensorMap{} : io::load_safetensors(ckpt + "/model.safetensors").tensors;
}

inline void expect_bitwise_equal(const io::TensorMap& a, const io::TensorMap& b, const std::string& what) {
  ASSERT_FALSE(a.empty()) << what;
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [k, v] : a) EXPECT_TRUE(torch::equal(v, b.at(k))) << what << ": " << k;
}

/// The step of a checkpoint directory (…/step-00000012 → 12); -1 for none.
inline int64_t checkpoint_step(const std::string& ckpt) {
  if (ckpt.empty()) return -1;
  const std::string name = std::filesystem::path(ckpt).filename().string();
  return std::stoll(name.substr(name.find('-') + 1));
}

/// Waits until RUN/metrics.jsonl has at least `n` records; false when `p` ended or time ran out first.
inline bool wait_for_steps(const std::string& run_dir, int64_t n, dist::testing::Proc& p, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    if (metrics_lines(run_dir) >= n) return true;
    if (p.wait(0)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

/// Waits until `path` exists; false when `p` ended or time ran out first.
inline bool wait_for_file(const std::string& path, dist::testing::Proc& p, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    if (std::filesystem::exists(path)) return true;
    if (p.wait(0)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace hld::test

#endif  // HLD_TRAIN_BIN
