// The run folder records the complete config, and a resume is matched against it: a changed value
// (a default that moved, an edited key) is refused with the key named; a default written out
// explicitly resumes. Also: `bench` runs training's own step, so its loss equals train's.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hld/bench/bench.h"
#include "hld/budget/plan.h"
#include "hld/config/loader.h"
#include "hld/teacher/teacher.h"
#include "hld/train/run_dir.h"
#include "hld/train/trainer.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "test_util.h"
#include "train_fixture.h"

namespace fs = std::filesystem;

namespace hld::train {
namespace {

TrainResult quiet_run(const config::ExperimentConfig& cfg, int64_t stop_after = -1) {
  TrainOptions o;
  o.quiet = true;
  o.stop_after_steps = stop_after;
  return run_training(cfg, o);
}

TEST(RunIdentity, RunFolderHoldsTheCompleteConfig) {
  test::TempDir tmp;
  auto cfg = test::tiny_config({"run.dir=" + tmp.path() + "/r", "budget.unit=steps", "budget.amount=3"});
  quiet_run(cfg, 1);
  const std::string stored = util::read_file(tmp.path() + "/r/config.yaml");
  for (const char* key : {"beta1: 0.9", "beta2: 0.98", "eps: 1e-09", "weight_decay: 0.1", "warmup_steps: 10",
                          "hint_warmup_steps: 5", "regressor: auto", "count_teacher: false", "prefetch: 2"})
    EXPECT_NE(stored.find(key), std::string::npos) << key << " missing from\n" << stored;
  // The stored config loads back to the same complete config.
  EXPECT_EQ(config::to_yaml(config::load_string(stored)), stored);
}

TEST(RunIdentity, ChangedValueIsRefusedWithTheKeyNamed) {
  test::TempDir tmp;
  const std::string dir = "run.dir=" + tmp.path() + "/r";
  // A run made when beta2's default was 0.95 (its complete config says so) ...
  quiet_run(test::tiny_config({dir, "budget.unit=steps", "budget.amount=4", "optimizer.beta2=0.95"}), 2);
  // ... does not resume under today's default, and the message says which key moved.
  try {
    quiet_run(test::tiny_config({dir, "budget.unit=steps", "budget.amount=4"}));
    ADD_FAILURE() << "the resume was accepted";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("optimizer.beta2: 0.95 -> 0.98"), std::string::npos) << m;
    EXPECT_EQ(m.find("optimizer.lr"), std::string::npos) << m;
  }
}

// The researcher's case: edit optimizer.beta2 in RUN/config.yaml and train from that file. The
// refusal names the key against the config the checkpoint was trained with (kept in its
// state.json), not against RUN/config.yaml, which now says the same as the edited config.
TEST(RunIdentity, RefusalNamesTheKeysAgainstTheCheckpointNotTheEditedRunConfig) {
  test::TempDir tmp;
  const std::string run = tmp.path() + "/r";
  quiet_run(test::tiny_config({"run.dir=" + run, "budget.unit=steps", "budget.amount=4"}), 2);
  std::string yaml = util::read_file(run + "/config.yaml");
  const size_t at = yaml.find("beta2: 0.98");
  ASSERT_NE(at, std::string::npos) << yaml;
  yaml.replace(at, 11, "beta2: 0.95");
  util::write_file_atomic(run + "/config.yaml", yaml);
  try {
    quiet_run(config::load_string(yaml, {}, run));
    ADD_FAILURE() << "the resume was accepted";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("holds a checkpoint of a different configuration"), std::string::npos) << m;
    EXPECT_NE(m.find("optimizer.beta2: 0.98 -> 0.95"), std::string::npos) << m;
    EXPECT_EQ(m.find("optimizer.lr"), std::string::npos) << m;
  }
}

TEST(RunIdentity, ExplicitDefaultsAndBookkeepingResume) {
  test::TempDir tmp;
  const std::string dir = "run.dir=" + tmp.path() + "/r";
  quiet_run(test::tiny_config({dir, "budget.unit=steps", "budget.amount=4"}), 2);
  // The same run with defaults written out, another log cadence and prefetch depth: one identity.
  auto r = quiet_run(
      test::tiny_config({dir, "budget.unit=steps", "budget.amount=4", "optimizer.beta1=0.9", "objective.regressor=auto",
                         "schedule.final_lr_ratio=0.01", "run.log_every=3", "data.prefetch=0", "eval.batch_size=4"}));
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.state.step, 4);
}

TEST(RunIdentity, OlderRunFoldersStillResume) {
  test::TempDir tmp;
  const std::string dir = "run.dir=" + tmp.path() + "/r";
  auto cfg = test::tiny_config({dir, "budget.unit=steps", "budget.amount=4"});
  quiet_run(cfg, 2);
  // Rewrite the run folder as an older version left it: the YAML as given, the old fingerprint.
  const std::string ckpt = tmp.path() + "/r/checkpoints/step-00000002";
  auto state = nlohmann::json::parse(util::read_file(ckpt + "/state.json"));
  state["fingerprint"] = legacy_config_fingerprint(cfg);
  util::write_file_atomic(ckpt + "/state.json", state.dump(1));
  util::write_file_atomic(tmp.path() + "/r/config.yaml", cfg.merged_yaml);
  auto r = quiet_run(cfg);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.state.step, 4);
  EXPECT_EQ(util::read_file(tmp.path() + "/r/config.yaml"), cfg.resolved_yaml);  // rewritten complete
}

// For every objective: bench --warmup 0 --steps N reports train's train/loss at step N.
TEST(BenchIsTraining, LossEqualsTrainsAtTheSameStep) {
  for (const std::string obj : {"nll", "kd", "hldc", "hldf"}) {
    test::TempDir tmp;
    auto cfg = test::tiny_config({"run.dir=" + tmp.path() + "/r", "objective.name=" + obj, "run.log_every=1",
                                  "budget.unit=tokens", "budget.amount=40000", "objective.p1=0.2"});
    std::optional<config::ModelConfig> tshape;
    if (cfg.needs_teacher()) tshape = teacher::teacher_shape(cfg);
    const auto plan = budget::plan(cfg, 1, tshape ? &*tshape : nullptr);
    // HLDF: into its second phase, so both phases' steps are compared.
    const int64_t n = obj == "hldf" ? plan.phases[0].steps + 2 : 3;
    ASSERT_LE(n, plan.total_steps) << obj;
    quiet_run(cfg);
    double train_loss = 0;
    std::ifstream metrics(tmp.path() + "/r/metrics.jsonl");
    for (std::string line; std::getline(metrics, line);) {
      auto j = nlohmann::json::parse(line);
      if (j.value("step", int64_t{0}) == n && j.contains("train/loss")) train_loss = j["train/loss"].get<double>();
    }
    ASSERT_NE(train_loss, 0) << obj;
    bench::BenchOptions bo;
    bo.warmup = 0;
    bo.steps = n;
    const auto r = bench::run_bench(cfg, bo);
    EXPECT_EQ(r["loss"].get<double>(), train_loss) << obj;
    EXPECT_EQ(r["phase"].get<std::string>(), plan.phases.back().name) << obj;
  }
}

}  // namespace
}  // namespace hld::train
