// Training loop: schedules, AdamW, exact resume, HLDF phase-1 parameter freezing, the FLOPs
// budget, and the paper's headline sanity check (a KD student beats an NLL student).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include "hld/budget/plan.h"
#include "hld/hf/any_model.h"
#include "hld/io/safetensors.h"
#include "hld/model/model_io.h"
#include "hld/teacher/teacher.h"
#include "hld/train/adamw.h"
#include "hld/train/checkpoint.h"
#include "hld/train/schedule.h"
#include "hld/train/trainer.h"
#include "hld/util/error.h"
#include "test_util.h"
#include "train_fixture.h"

namespace fs = std::filesystem;

namespace hld::train {
namespace {

/// The message of the error a quiet run of `cfg` stops with (a test failure when it finishes).
std::string stop_message(const config::ExperimentConfig& cfg) {
  TrainOptions q;
  q.quiet = true;
  try {
    run_training(cfg, q);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected the run to stop with an error";
  return "";
}

TEST(Schedule, WarmupStableDecay) {
  config::ScheduleConfig s;
  s.warmup_steps = 10;
  s.decay_fraction = 0.1;
  s.final_lr_ratio = 0.01;
  EXPECT_DOUBLE_EQ(wsd_lr(0, 200, 1.0, s), 0.1);
  EXPECT_DOUBLE_EQ(wsd_lr(9, 200, 1.0, s), 1.0);
  EXPECT_DOUBLE_EQ(wsd_lr(150, 200, 1.0, s), 1.0);
  EXPECT_DOUBLE_EQ(wsd_lr(179, 200, 1.0, s), 1.0);  // last constant step
  EXPECT_NEAR(wsd_lr(189, 200, 1.0, s), 1.0 - 0.5 * 0.99, 1e-12);
  EXPECT_NEAR(wsd_lr(199, 200, 1.0, s), 0.01, 1e-12);  // ends at η/100
  config::ScheduleConfig h;
  h.hint_warmup_steps = 4;
  EXPECT_DOUBLE_EQ(hint_lr(2, 2.0, h), 1.5);
  EXPECT_DOUBLE_EQ(hint_lr(1000, 2.0, h), 2.0);  // constant, no decay
}

TEST(AdamW, MatchesLibTorchAdamW) {
  torch::manual_seed(0);
  auto a = torch::randn({5, 3}).requires_grad_(), b = a.detach().clone().requires_grad_();
  config::OptimConfig oc;
  oc.lr = 0.01;
  AdamW mine({{"w", a, true}}, oc);
  torch::optim::AdamW ref({b}, torch::optim::AdamWOptions(0.01).betas({0.9, 0.98}).eps(1e-9).weight_decay(0.1));
  for (int i = 0; i < 5; ++i) {
    auto g = torch::randn({5, 3});
    a.mutable_grad() = g.clone();
    b.mutable_grad() = g.clone();
    mine.step(0.01);
    ref.step();
  }
  EXPECT_TRUE(torch::allclose(a, b, 1e-6, 1e-7));
}

io::TensorMap final_params(const std::string& run_dir) {
  return io::load_safetensors(model::latest_checkpoint(run_dir) + "/model.safetensors").tensors;
}

void expect_bitwise_equal(const io::TensorMap& a, const io::TensorMap& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, v] : a) EXPECT_TRUE(torch::equal(v, b.at(k))) << k;
}

// A run stopped after k steps and resumed ends bitwise equal to an uninterrupted run, for every
// objective, HLDF across its phase boundary included.
TEST(TrainIntegration, ResumeIsBitwiseExact) {
  for (const char* obj : {"nll", "kd", "hldc", "hldf"}) {
    test::TempDir dir;
    const std::vector<std::string> base = {std::string("objective.name=") + obj, "budget.amount=40000",
                                           "run.checkpoint_every=5"};
    auto full_cfg = base, cut_cfg = base;
    full_cfg.push_back("run.dir=" + dir / "full");
    cut_cfg.push_back("run.dir=" + dir / "cut");
    TrainOptions quiet;
    quiet.quiet = true;
    auto full = run_training(test::tiny_config(full_cfg), quiet);
    ASSERT_TRUE(full.finished);
    // HLDF: phase 1 has 10% of 40k FLOPs-matched tokens → stop inside phase 1 and in phase 2.
    for (int64_t k : {3, 9}) {
      TrainOptions stop = quiet;
      stop.stop_after_steps = k;
      auto part = run_training(test::tiny_config(cut_cfg), stop);
      EXPECT_FALSE(part.finished);
      EXPECT_EQ(part.state.step, k);
    }
    auto rest = run_training(test::tiny_config(cut_cfg), quiet);
    ASSERT_TRUE(rest.finished) << obj;
    EXPECT_EQ(rest.state.step, full.state.step);
    EXPECT_EQ(rest.state.flops, full.state.flops);
    expect_bitwise_equal(final_params(dir / "full"), final_params(dir / "cut"));
  }
}

TEST(TrainIntegration, HldfPhaseOneTrainsOnlyTheFirstHalf) {
  test::TempDir dir;
  auto cfg = test::tiny_config({"objective.name=hldf", "run.dir=" + dir / "r", "budget.amount=40000"});
  const auto tshape = teacher::teacher_shape(cfg);
  auto plan = budget::plan(cfg, 1, &tshape);
  TrainOptions o;
  o.quiet = true;
  o.stop_after_steps = 0;
  run_training(cfg, o);
  auto init = final_params(dir / "r");
  o.stop_after_steps = plan.phases.at(0).steps;  // end of phase 1
  run_training(cfg, o);
  auto after = final_params(dir / "r");
  const int64_t hint = cfg.student_hint_layer();
  int changed = 0, frozen = 0;
  for (const auto& [k, v] : init) {
    bool trainable = k.rfind("embed_tokens.", 0) == 0;
    if (k.rfind("layers.", 0) == 0) trainable = std::stoll(k.substr(7)) < hint;
    if (trainable)
      changed += !torch::equal(v, after.at(k));
    else {
      EXPECT_TRUE(torch::equal(v, after.at(k))) << k << " changed in phase 1";
      ++frozen;
    }
  }
  EXPECT_GT(changed, 5);
  EXPECT_GT(frozen, 5);
  // Stopped at the phase boundary: phase 2 starts without the regressor (the paper drops it).
  EXPECT_FALSE(fs::exists(model::latest_checkpoint(dir / "r") + "/regressor.safetensors"));
  o.stop_after_steps = plan.phases.at(0).steps - 1;  // inside phase 1 the regressor is checkpointed
  auto mid = test::tiny_config({"objective.name=hldf", "run.dir=" + dir / "mid", "budget.amount=40000"});
  run_training(mid, o);
  EXPECT_TRUE(fs::exists(model::latest_checkpoint(dir / "mid") + "/regressor.safetensors"));
}

TEST(TrainIntegration, EveryObjectiveSpendsTheSameBudgetWithinOneStep) {
  test::TempDir dir;
  std::map<std::string, double> spent;
  double max_step = 0;
  for (const char* obj : {"nll", "kd", "hldc", "hldf"}) {
    auto cfg = test::tiny_config({std::string("objective.name=") + obj, "run.dir=" + dir / obj, "budget.amount=30000"});
    const auto tshape = teacher::teacher_shape(cfg);
    auto plan = budget::plan(cfg, 1, &tshape);
    TrainOptions o;
    o.quiet = true;
    auto r = run_training(cfg, o);
    spent[obj] = r.state.flops;
    for (const auto& ph : plan.phases) max_step = std::max(max_step, double(ph.flops_per_step));
    EXPECT_LE(r.state.flops, plan.budget_flops);
    EXPECT_GT(r.state.flops, plan.budget_flops - max_step) << obj;
    if (std::string(obj) == "hldf") {
      const double p1 = double(plan.phases[0].steps * plan.phases[0].flops_per_step);
      EXPECT_NEAR(p1 / plan.budget_flops, 0.1, double(plan.phases[0].flops_per_step) / plan.budget_flops);
    }
  }
}

// The paper's premise at toy scale: with a better teacher, KD reaches a lower held-out loss than
// NLL under the same FLOPs budget.
TEST(TrainIntegration, KdStudentBeatsNllStudent) {
  test::TempDir dir;
  TrainOptions o;
  o.quiet = true;
  auto nll = run_training(test::tiny_config({"objective.name=nll", "run.dir=" + dir / "nll"}), o);
  auto kd = run_training(test::tiny_config({"objective.name=kd", "run.dir=" + dir / "kd"}), o);
  ASSERT_GT(nll.valid_loss, 0);
  ASSERT_GT(kd.valid_loss, 0);
  std::printf("held-out loss: NLL %.4f, KD %.4f (same budget: %.3e vs %.3e FLOPs)\n", nll.valid_loss, kd.valid_loss,
              nll.state.flops, kd.state.flops);
  EXPECT_LT(kd.valid_loss, nll.valid_loss);
}

TEST(TrainIntegration, BadConfigsAreInputErrors) {
  test::TempDir dir;
  EXPECT_THROW(run_training(test::tiny_config({"objective.name=kd", "run.dir=" + dir / "a", "model.vocab_size=900"})),
               InputError);  // teacher vocabulary differs
  EXPECT_THROW(
      run_training(test::tiny_config({"objective.name=hldc", "run.dir=" + dir / "b", "objective.teacher_layer=9"})),
      InputError);  // beyond the teacher's depth
  // A run folder of another config is not silently resumed.
  TrainOptions o;
  o.quiet = true;
  o.stop_after_steps = 2;
  run_training(test::tiny_config({"run.dir=" + dir / "c"}), o);
  EXPECT_THROW(run_training(test::tiny_config({"run.dir=" + dir / "c", "optimizer.lr=0.1"}), o), InputError);
}

TEST(TrainIntegration, NonFiniteLossStopsAndKeepsTheLastCheckpoint) {
  test::TempDir dir;
  TrainOptions o;
  o.quiet = true;
  o.stop_after_steps = 2;
  run_training(test::tiny_config({"run.dir=" + dir / "r"}), o);
  const std::string before = model::latest_checkpoint(dir / "r");
  // Same config, same folder, but a learning rate that overflows: the fingerprint differs, so use a
  // fresh folder and check that no checkpoint is written past the failure.
  auto cfg = test::tiny_config(
      {"run.dir=" + dir / "nan", "optimizer.lr=1e30", "run.checkpoint_every=1", "schedule.warmup_steps=0"});
  const std::string m = stop_message(cfg);
  EXPECT_NE(m.find("not finite"), std::string::npos) << m;
  std::smatch at;
  ASSERT_TRUE(std::regex_search(m, at, std::regex("step (\\d+)"))) << m;
  const int64_t failed = std::stoll(at[1]);
  // The failing run (dir/nan, a checkpoint every step) keeps only checkpoints of steps before the
  // failure, each with finite weights; the other run's checkpoint is untouched.
  const auto kept = model::checkpoint_dirs(dir / "nan", /*complete_only=*/false);
  // Steps before the failure were checkpointed: without any, the checks below would be vacuous.
  ASSERT_FALSE(kept.empty()) << "no checkpoint in " << dir / "nan"
                             << " before the failure at step " << failed;
  EXPECT_LT(kept.size(), static_cast<size_t>(failed)) << m;
  for (const auto& c : kept) {
    const std::string name = fs::path(c).filename().string();
    EXPECT_LT(std::stoll(name.substr(name.find('-') + 1)), failed) << c << " written at or past the failure: " << m;
    for (const auto& [key, t] : io::load_safetensors(c + "/model.safetensors").tensors)
      EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << c << " " << key;
  }
  EXPECT_EQ(model::latest_checkpoint(dir / "r"), before);
}

// A teacher that produces NaN logits is named as the culprit (not the student's loss), after the
// allowed number of skipped batches.
TEST(TrainIntegration, NonFiniteTeacherSignalsAreNamed) {
  test::TempDir dir;
  {
    auto t = hf::load_model_any(test::tiny_teacher());
    torch::NoGradGuard ng;
    t->norm->named_parameters()["weight"].fill_(std::nan(""));  // final norm: every logit NaN
    model::save_model_dir(t, dir / "teacher");
  }
  auto cfg = test::tiny_config({"run.dir=" + dir / "r", "objective.name=kd", "teacher.source=online",
                                "teacher.checkpoint=" + dir / "teacher", "run.max_bad_steps=2"});
  const std::string m = stop_message(cfg);
  EXPECT_NE(m.find("step 1: teacher top-k logits is not finite"), std::string::npos) << m;
  EXPECT_NE(m.find("run.max_bad_steps = 2"), std::string::npos) << m;
}

}  // namespace
}  // namespace hld::train
