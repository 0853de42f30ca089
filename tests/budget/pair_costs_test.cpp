// Every hidden pair's regressor is counted in C_HLDC and C_HT (issue 20), HLDF's phase 1 costs
// the deepest student layer any pair reads, and `flops` lists the pairs.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hld/budget/costs.h"
#include "hld/budget/pair_costs.h"
#include "hld/config/loader.h"

namespace hld::budget {
namespace {

const char* kYaml =
    "model: {name: s, vocab_size: 256, hidden_size: 16, intermediate_size: 32, num_layers: 4, num_heads: 2, "
    "num_kv_heads: 1, head_dim: 8}\n"
    "teacher: {model: {name: t, vocab_size: 256, hidden_size: 24, intermediate_size: 48, num_layers: 6, "
    "num_heads: 2, num_kv_heads: 1, head_dim: 8}}\n"
    "objective: {name: hldc}\n";

TEST(PairCosts, EveryRegressorIsCountedOnce) {
  const auto one = config::load_string(kYaml);
  const auto two = config::load_string(
      kYaml, {"objective.hidden_pairs=[{student: 1, teacher: 2}, {student: 3, teacher: 5, regressor: mlp}]"});
  const auto k1 = token_costs(one), k2 = token_costs(two);
  const int64_t lin = 16 * 24, mlp = 16 * 64 + 64 * 24;  // expansion 4: h = 64
  EXPECT_EQ(*k1.regressor_hldc, lin);
  EXPECT_EQ(*k2.regressor_hldc, lin + mlp);
  EXPECT_EQ(*k2.regressor_hldf, mlp + mlp);  // HLDF's default regressor for the first pair
  EXPECT_EQ(*k2.hldc, k2.kd + 6 * (lin + mlp));
  EXPECT_EQ(*k1.hldc - k1.kd, 6 * lin);
  // Phase 1 runs the student to its deepest paired block (3 of 4) instead of D_S/2.
  EXPECT_EQ(*k2.ht, 6 * k2.student_backbone * 3 / 4 + 6 * (mlp + mlp));
  EXPECT_EQ(*k1.ht, 6 * k1.student_backbone * 2 / 4 + 6 * (16 * 64 + 64 * 24));

  const auto pc = pair_costs(two, config::Objective::kHldc);
  ASSERT_EQ(pc.size(), 2u);
  EXPECT_EQ(pc[0].params, lin);
  EXPECT_EQ(pc[1].params, mlp);
  EXPECT_EQ(pc[1].flops, 6 * mlp);
  EXPECT_EQ(pc[0].flops + pc[1].flops, *k2.hldc - k2.kd);
  const std::string text = format_pair_costs(pc, config::Objective::kHldc);
  EXPECT_NE(text.find("hidden pairs (hldc): 2"), std::string::npos) << text;
  EXPECT_NE(text.find("pair 1: student 3 <-> teacher 5, nmse x 1, regressor mlp N_reg " + std::to_string(mlp)),
            std::string::npos)
      << text;
  EXPECT_EQ(to_json(pc)[1]["regressor_flops_per_token"], 6 * mlp);
  // Uniform: one regressor per student block.
  const auto uni = config::load_string(kYaml, {"objective.hidden_map=uniform"});
  EXPECT_EQ(*token_costs(uni).regressor_hldc, 4 * lin);
  EXPECT_EQ(*token_costs(uni).ht, 6 * k2.student_backbone + 6 * 4 * (16 * 64 + 64 * 24));
}

}  // namespace
}  // namespace hld::budget
