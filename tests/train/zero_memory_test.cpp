// The memory estimate knows ZeRO-1 and activation checkpointing: per-rank moments divide by the
// world size, checkpointed blocks keep their input only, the alternatives are listed (configured
// first), and a refusal names them; `flops --json` carries them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hld/config/loader.h"
#include "hld/train/resources.h"
#include "hld/util/error.h"
#include "test_util.h"

namespace hld::train {
namespace {

config::ExperimentConfig paper_123m(const std::vector<std::string>& sets) {
  return config::load(test::repo_path("configs/paper/student_123m_base.yaml"), sets);
}

TEST(ZeroMemory, MomentsDivideByTheWorldSize) {
  const auto plain = estimate_training_memory(paper_123m({"data.grad_accum=16"}), nullptr, true, 4);
  const auto zero = estimate_training_memory(paper_123m({"data.grad_accum=16", "run.zero=1"}), nullptr, true, 4);
  EXPECT_NEAR(plain.moments, 120806016.0 * 8, 1e6);
  EXPECT_NEAR(zero.moments, 120806016.0 * 8 / 4 + 50.0 * (1 << 20), 1e6);
  EXPECT_EQ(zero.gradients, plain.gradients);  // ZeRO-1 keeps whole gradients
  EXPECT_EQ(zero.weights, plain.weights);
  EXPECT_DOUBLE_EQ(zero.optimizer, zero.gradients + zero.moments);
  // One process: ZeRO-1 changes nothing.
  const auto one = estimate_training_memory(paper_123m({"data.grad_accum=16", "run.zero=1"}), nullptr, true, 1);
  EXPECT_EQ(one.moments, plain.moments);
}

TEST(ZeroMemory, CheckpointingKeepsBlockInputsOnly) {
  const auto none = estimate_training_memory(paper_123m({"data.grad_accum=128"}), nullptr, true);
  const auto blocks = estimate_training_memory(
      paper_123m({"data.grad_accum=128", "run.activation_checkpointing=blocks"}), nullptr, true);
  const auto every2 = estimate_training_memory(
      paper_123m({"data.grad_accum=128", "run.activation_checkpointing=every_k", "run.activation_checkpointing_k=2"}),
      nullptr, true);
  // 12 blocks: none keeps 12 blocks' values; blocks keeps 12 inputs + one recomputed block.
  EXPECT_LT(blocks.activations, none.activations / 4);
  EXPECT_LT(blocks.activations, every2.activations);
  EXPECT_LT(every2.activations, none.activations);
  EXPECT_EQ(blocks.logits, none.logits);
}

TEST(ZeroMemory, AlternativesAndRefusalNameThem) {
  const auto cfg = paper_123m({"data.grad_accum=16"});
  const auto alts = memory_alternatives(cfg, nullptr, true, 2);
  ASSERT_EQ(alts.size(), 4u);  // configured (0, none), (0, blocks), (1, none), (1, blocks)
  EXPECT_EQ(alts[0].zero, 0);
  EXPECT_EQ(alts[0].checkpointing, config::ActivationCheckpointing::kNone);
  double best = alts[0].total();
  for (const auto& a : alts) best = std::min(best, a.total());
  EXPECT_LT(best, alts[0].total());
  EXPECT_EQ(memory_alternatives(cfg, nullptr, true, 1).size(), 2u);  // no ZeRO-1 for one process
  // A limit between the best alternative and the configured run: refused, naming the settings
  // that would fit; nothing is switched on.
  const double limit = (best + alts[0].total()) / 2;
  try {
    check_training_resources(cfg, nullptr, true, uint64_t(limit), "cuda:0", 1, 2);
    FAIL() << "no refusal";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("run.zero=1, run.activation_checkpointing=blocks"), std::string::npos) << m;
    EXPECT_NE(m.find("(fits)"), std::string::npos) << m;
    EXPECT_NE(m.find("(does not fit)"), std::string::npos) << m;
  }
  const auto j = to_json(alts[3]);
  EXPECT_EQ(j["zero"], 1);
  EXPECT_EQ(j["activation_checkpointing"], "blocks");
  EXPECT_EQ(j["world_size"], 2);
}

TEST(ZeroMemory, FlopsJsonListsPerRankAlternatives) {
  auto r = test::run_hld("flops " + test::repo_path("configs/paper/student_123m_base.yaml") +
                         " --json --world-size 8 --set run.zero=1 --set run.activation_checkpointing=blocks");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(j["memory_estimate"]["zero"], 1);
  EXPECT_EQ(j["memory_estimate"]["world_size"], 8);
  EXPECT_EQ(j["memory_estimate"]["activation_checkpointing"], "blocks");
  EXPECT_EQ(j["memory_alternatives"].size(), 4u);
  auto t = test::run_hld("flops " + test::repo_path("configs/paper/student_123m_base.yaml") + " --world-size 2");
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_NE(t.output.find("memory per rank, alternatives"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("with run.zero=1, run.activation_checkpointing=blocks"), std::string::npos) << t.output;
}

}  // namespace
}  // namespace hld::train
