// objective.hidden_pairs / hidden_map (issue 20): parsed, round-tripped through the complete
// YAML, resolved with the paper's defaults, and refused (exit 2 naming the key) when a layer lies
// beyond the student's or the teacher's depth.
#include <gtest/gtest.h>

#include "hld/config/hidden_pairs.h"
#include "hld/config/loader.h"
#include "hld/util/error.h"

namespace hld::config {
namespace {

const char* kBase =
    "model: {name: s, vocab_size: 256, hidden_size: 16, intermediate_size: 32, num_layers: 4, num_heads: 2, "
    "num_kv_heads: 1, head_dim: 8}\n"
    "teacher: {model: {name: t, vocab_size: 256, hidden_size: 32, intermediate_size: 64, num_layers: 6, "
    "num_heads: 2, num_kv_heads: 1, head_dim: 8}}\n"
    "objective: {name: hldc}\n";

std::string input_error(const std::vector<std::string>& sets) {
  try {
    load_string(kBase, sets);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

TEST(HiddenPairs, DefaultIsThePapersSinglePair) {
  const auto c = load_string(kBase);
  const auto p = resolve_hidden_pairs(c, 6);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].student, 2);  // D_S / 2
  EXPECT_EQ(p[0].teacher, 3);  // D_T / 2
  EXPECT_EQ(p[0].loss, HiddenLoss::kNmse);
  EXPECT_EQ(p[0].weight, 1.0);
  EXPECT_EQ(p[0].regressor, RegressorKind::kLinear);  // HLDC's
  EXPECT_EQ(resolve_hidden_pairs(c, Objective::kHldf, 6)[0].regressor, RegressorKind::kMlp);
  EXPECT_EQ(deepest_student_layer(c), c.student_hint_layer());
  const auto one = load_string(kBase, {"objective.student_layer=3", "objective.teacher_layer=5"});
  EXPECT_EQ(resolve_hidden_pairs(one, 6)[0].student, 3);
  EXPECT_EQ(resolve_hidden_pairs(one, 6)[0].teacher, 5);
}

TEST(HiddenPairs, ExplicitPairsParseRoundTripAndResolve) {
  const auto c = load_string(
      kBase, {"objective.hidden_pairs=[{student: 1, teacher: 2, weight: 0.25, loss: cosine, regressor: mlp}, "
              "{student: 4, loss: mse}, {}]"});
  ASSERT_EQ(c.objective.hidden_pairs.size(), 3u);
  const auto p = resolve_hidden_pairs(c, 6);
  EXPECT_EQ(p[0].student, 1);
  EXPECT_EQ(p[0].teacher, 2);
  EXPECT_EQ(p[0].weight, 0.25);
  EXPECT_EQ(p[0].loss, HiddenLoss::kCosine);
  EXPECT_EQ(p[0].regressor, RegressorKind::kMlp);
  EXPECT_EQ(p[1].student, 4);
  EXPECT_EQ(p[1].teacher, 3);  // -1: D_T / 2
  EXPECT_EQ(p[1].loss, HiddenLoss::kMse);
  EXPECT_EQ(p[1].regressor, RegressorKind::kLinear);
  EXPECT_EQ(p[2].student, 2);
  EXPECT_EQ(deepest_student_layer(c), 4);
  EXPECT_EQ(teacher_layers_needed(p), (std::vector<int64_t>{2, 3}));
  // The complete YAML (every default written out) loads back to the same pairs.
  const auto back = load_string(c.resolved_yaml);
  ASSERT_EQ(back.objective.hidden_pairs.size(), 3u);
  EXPECT_EQ(back.objective.hidden_pairs[0].weight, 0.25);
  EXPECT_EQ(back.objective.hidden_pairs[0].loss, HiddenLoss::kCosine);
  EXPECT_EQ(back.objective.hidden_pairs[0].regressor, RegressorKind::kMlp);
  EXPECT_FALSE(back.objective.hidden_pairs[1].regressor.has_value());
  EXPECT_EQ(back.resolved_yaml, c.resolved_yaml);
}

TEST(HiddenPairs, UniformMapsEveryStudentBlock) {
  // 1-based: student s ↔ teacher round(s·D_T/D_S) — the 0-based round((i+1)·D_T/D_S) − 1.
  const auto c = load_string(kBase, {"objective.hidden_map=uniform"});
  const auto p = resolve_hidden_pairs(c, 6);
  ASSERT_EQ(p.size(), 4u);
  const std::vector<int64_t> want = {2, 3, 5, 6};  // 1.5 → 2, 3, 4.5 → 5, 6
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(p[i].student, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(p[i].teacher, want[i]);
  }
  EXPECT_EQ(deepest_student_layer(c), 4);
  const auto same = load_string(kBase, {"model.num_layers=6", "objective.hidden_map=uniform"});
  for (const auto& q : resolve_hidden_pairs(same, 6)) EXPECT_EQ(q.teacher, q.student);
}

TEST(HiddenPairs, BadPairsNameTheKey) {
  EXPECT_NE(input_error({"objective.hidden_pairs=[{student: 5}]"}).find("objective.hidden_pairs[0].student = 5"),
            std::string::npos);
  EXPECT_NE(input_error({"objective.hidden_pairs=[{student: 1}, {teacher: 7}]"})
                .find("objective.hidden_pairs[1].teacher = 7: expected -1 or a block index in [1, 6]"),
            std::string::npos);
  EXPECT_NE(input_error({"objective.hidden_pairs=[{weight: -1}]"}).find("objective.hidden_pairs[0].weight"),
            std::string::npos);
  EXPECT_NE(input_error({"objective.hidden_pairs=[{loss: l1}]"}).find("objective.hidden_pairs[0].loss"),
            std::string::npos);
  EXPECT_NE(input_error({"objective.hidden_pairs=[{layer: 1}]"}).find("layer"), std::string::npos);
  EXPECT_NE(input_error({"objective.hidden_pairs=3"}).find("objective.hidden_pairs"), std::string::npos);
  EXPECT_NE(input_error({"objective.hidden_map=diagonal"}).find("objective.hidden_map"), std::string::npos);
  EXPECT_NE(input_error({"objective.hidden_map=uniform", "objective.hidden_pairs=[{student: 1}]"}).find("not both"),
            std::string::npos);
}

}  // namespace
}  // namespace hld::config
