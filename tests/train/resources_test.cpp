// Up-front resource checks: the memory estimate's magnitudes for the paper's shapes, and a run
// that cannot fit refused with exit code 2 naming the estimate, the limit and what to change.
#include <gtest/gtest.h>

#include "hld/budget/costs.h"
#include "hld/config/loader.h"
#include "hld/train/resources.h"
#include "hld/util/error.h"
#include "test_util.h"

namespace hld::train {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

config::ExperimentConfig paper_123m(const std::vector<std::string>& sets) {
  return config::load(test::repo_path("configs/paper/student_123m_base.yaml"), sets);
}

TEST(Resources, EstimateHasThePaperShapesMagnitudes) {
  // 123M student (120.8 M parameters): 16 B/param of weights, gradients and moments (+2 bf16).
  const auto small = estimate_training_memory(paper_123m({"data.grad_accum=16"}), nullptr, /*fused=*/true);
  EXPECT_NEAR(small.weights + small.optimizer, 120806016.0 * 18, 1e6);
  // The loss is chunked: three float32 (rows, 32k) tensors of one 2097-row chunk, not 16 × 2048 rows.
  EXPECT_NEAR(small.logits, 3.0 * 2097 * 32000 * 4, 1.0);
  // The micro-batch of 16 fits an H200 (139 GiB) with room; 256 × 2048 in one pass does not.
  EXPECT_LT(small.total() / kGiB, 60);
  const auto big = estimate_training_memory(paper_123m({}), nullptr, true);
  EXPECT_GT(big.total() / kGiB, 139);
  EXPECT_NEAR(big.activations / small.activations, 16, 1e-9);
  // On the CPU, attention keeps float32 scores and probabilities as model/attention computes them:
  // [B, H, T, T] on the 3 global layers (eager), [B, H, T, 2W] on the 15 sliding ones (banded,
  // T = 2048 ≥ 4W = 2048); none with the fused kernels.
  const auto eager = estimate_training_memory(paper_123m({"data.grad_accum=16"}), nullptr, false);
  EXPECT_NEAR(eager.activations - small.activations, 16.0 * 4 * 2048 * (3 * 2048 + 15 * 1024) * 4 * 2, 1.0);
  // An online teacher adds its weights (bf16 here) and one row chunk of its logits at a time
  // (teacher::forward_signals); a cached one adds nothing.
  auto kd = paper_123m({"data.grad_accum=16", "objective.name=kd", "teacher.source=online"});
  const auto teacher = config::load_model(test::repo_path("configs/models/teacher_4b.yaml"));
  EXPECT_NEAR(estimate_training_memory(kd, &teacher, true).teacher,
              double(budget::forward_cost(teacher)) / 2 * 2 + 2.0 * 2097 * 32000 * 4, 1.0);
  kd.teacher.source = "cache";
  EXPECT_EQ(estimate_training_memory(kd, &teacher, true).teacher, 0);
}

// Per phase: what each phase holds (spec/objective.h), the largest. HLDF's KD phase trains the whole
// student without the regressor (whose weights stay); HLDC trains both.
TEST(Resources, EstimateIsThePhaseThatHoldsTheMost) {
  const auto teacher = config::load_model(test::repo_path("configs/models/teacher_4b.yaml"));
  const double student = double(budget::forward_cost(paper_123m({}).model)) / 2;
  const auto hldf = estimate_training_memory(paper_123m({"data.grad_accum=16", "objective.name=hldf"}), &teacher, true);
  const auto hldc = estimate_training_memory(paper_123m({"data.grad_accum=16", "objective.name=hldc"}), &teacher, true);
  EXPECT_EQ(hldf.phase, "kd");
  EXPECT_EQ(hldc.phase, "train");
  EXPECT_DOUBLE_EQ(hldf.gradients, 4 * student);
  EXPECT_NEAR(hldc.gradients, 4 * (student + 640.0 * 2560), 1.0);  // + the linear regressor d_S × d_T
  EXPECT_GT(hldf.weights, 4 * student);                            // the MLP regressor's weights stay
}

TEST(Resources, RefusesWhatDoesNotFitAndCanBeTurnedOff) {
  const auto cfg = paper_123m({"data.grad_accum=16"});
  const double need = estimate_training_memory(cfg, nullptr, true).total();
  EXPECT_NO_THROW(check_training_resources(cfg, nullptr, true, uint64_t(need * 1.1), "cuda:0"));
  try {
    check_training_resources(cfg, nullptr, true, uint64_t(need * 0.9), "cuda:0");
    FAIL() << "no refusal";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("needs about"), std::string::npos) << m;
    EXPECT_NE(m.find("cuda:0 has"), std::string::npos) << m;
    EXPECT_NE(m.find("data.grad_accum"), std::string::npos) << m;
    EXPECT_NE(m.find("run.check_resources=false"), std::string::npos) << m;
  }
  // Two processes on one host share its memory.
  EXPECT_THROW(check_training_resources(cfg, nullptr, true, uint64_t(need * 1.5), "cpu", 2), InputError);
  auto off = cfg;
  off.run.check_resources = false;
  EXPECT_NO_THROW(check_training_resources(off, nullptr, true, 1, "cpu"));
}

#ifdef HLD_TRAIN_BIN
TEST(Resources, TrainRefusesABatchThatCannotFitThisMachine) {
  test::TempDir tmp;
  // 123M student, 256 × 8192 tokens in one pass on the CPU: terabytes, refused before any data.
  auto r = test::run_hld("train " + test::repo_path("configs/paper/student_123m_base.yaml") +
                         " --set run.device=cpu --set data.context=8192 --set run.dir=" + (tmp / "run") +
                         " --set data.train=" + (tmp / "none"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("needs about"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("available"), std::string::npos) << r.output;
}
#endif

}  // namespace
}  // namespace hld::train
