// `hld-train bench` on a tiny model: every objective runs and reports consistent numbers (JSON),
// the text summary, a Chrome trace with --profile, and bad arguments exit 2. Full builds only.
#include <gtest/gtest.h>

#ifdef HLD_TRAIN_BIN
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "hld/util/fs.h"
#include "test_util.h"

namespace hld::test {
namespace {

constexpr const char* kConfig = R"(run:
  device: cpu
  seed: 0
  peak_flops: 1.0e11
model:
  name: bench_tiny
  vocab_size: 96
  hidden_size: 32
  intermediate_size: 64
  num_layers: 2
  num_heads: 2
  num_kv_heads: 1
  head_dim: 16
  query_pre_attn_scalar: 16
  sliding_window: 4
data:
  context: 24
  batch_size: 3
objective:
  name: nll
  top_k: 8
teacher:
  model:
    name: bench_tiny_teacher
    vocab_size: 96
    hidden_size: 48
    intermediate_size: 96
    num_layers: 4
    num_heads: 2
    num_kv_heads: 1
    head_dim: 24
    query_pre_attn_scalar: 24
    sliding_window: 4
  source: cache
)";

std::string write_config(const TempDir& tmp) {
  const std::string path = tmp / "bench.yaml";
  std::ofstream(path) << kConfig;
  return path;
}

TEST(BenchCli, EveryObjectiveReportsConsistentNumbers) {
  TempDir tmp;
  const std::string cfg = write_config(tmp);
  for (const char* obj : {"nll", "kd", "hldc", "hldf"}) {
    const auto r = run_hld("bench " + cfg + " --set objective.name=" + obj + " --steps 3 --warmup 1 --json");
    ASSERT_EQ(r.exit_code, 0) << obj << ": " << r.output;
    const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));  // after any log line
    EXPECT_EQ(j["objective"], obj);
    EXPECT_EQ(j["batch"], 3);
    EXPECT_EQ(j["context"], 24);
    EXPECT_EQ(j["steps"], 3);
    const double ms = j["ms_per_step"], tps = j["tokens_per_s"];
    EXPECT_GT(ms, 0);
    EXPECT_NEAR(tps, 3 * 24 / (ms / 1e3), 1e-6 * tps);
    EXPECT_EQ(j["peak_flops"], 1.0e11);
    // MFU = tokens/s × FLOPs per token / peak, with and without attention.
    const double c_data = j["flops_per_token"]["c_data"], attn = j["flops_per_token"]["attention"];
    EXPECT_GT(c_data, 0);
    EXPECT_GT(attn, 0);
    EXPECT_NEAR(j["mfu"]["c_data"].get<double>(), tps * c_data / 1e11, 1e-9);
    EXPECT_NEAR(j["mfu"]["with_attention"].get<double>(), tps * (c_data + attn) / 1e11, 1e-9);
    const auto& split = j["time_split"];
    const double sum =
        split["forward_and_loss"].get<double>() + split["backward"].get<double>() + split["optimizer"].get<double>();
    EXPECT_GT(sum, 0.9);
    EXPECT_LE(sum, 1.0 + 1e-9);
    EXPECT_GT(j["peak_memory_bytes"].get<double>(), 1e6);  // the process's resident set on CPU
  }
}

TEST(BenchCli, TextSummaryAndChromeTrace) {
  TempDir tmp;
  const std::string cfg = write_config(tmp), trace = tmp / "trace.json";
  const auto r = run_hld("bench " + cfg + " --set objective.name=kd --steps 2 --warmup 1 --profile " + trace);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("bench bench_tiny kd on cpu (float32"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tokens/s"), std::string::npos);
  EXPECT_NE(r.output.find("MFU"), std::string::npos);
  const auto events = nlohmann::json::parse(util::read_file(trace));
  ASSERT_TRUE(events.is_array());
  size_t mm = 0, loss = 0;
  for (const auto& e : events) {
    const std::string name = e.value("name", "");
    mm += name == "aten::mm";
    loss += name.find("ChunkedLmLoss") != std::string::npos;
  }
  EXPECT_GT(mm, 0u);
  EXPECT_GT(loss, 0u);  // the timed steps' own operations are in the trace
}

TEST(BenchCli, BadArgumentsExitTwo) {
  TempDir tmp;
  const std::string cfg = write_config(tmp);
  EXPECT_EQ(run_hld("bench " + cfg + " --steps 0").exit_code, 2);
  EXPECT_EQ(run_hld("bench " + cfg + " --set model.hidden_size=-4").exit_code, 2);
  EXPECT_EQ(run_hld("bench " + (tmp / "missing.yaml")).exit_code, 2);
  const auto r = run_hld("bench " + cfg + " --steps 1 --profile " + (tmp / "no/such/dir/trace.json"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--profile"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(tmp / "no"));
}

}  // namespace
}  // namespace hld::test
#endif
