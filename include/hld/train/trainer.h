// `hld-train train`: one training run of any objective under the FLOPs budget, resumable from the
// run folder's latest checkpoint, bitwise reproducible on CPU. `bench` runs the same loop.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "hld/budget/plan.h"
#include "hld/config/experiment.h"
#include "hld/dist/collective.h"
#include "hld/train/checkpoint.h"
#include "hld/train/step.h"

namespace hld::train {

/// What a caller observing the loop (bench) sees after each applied optimizer step.
struct StepReport {
  std::string phase;  ///< the budget plan's phase name ("train", "hint", "kd")
  int phase_index = 0;
  int64_t step = 0;  ///< steps done, all phases
  double lr = 0;
  StepResult result;
};

struct TrainOptions {
  dist::Collective* collective = nullptr;  ///< data-parallel group (nullptr: one process)
  int64_t stop_after_steps = -1;           ///< checkpoint and stop once this many total steps are done
  bool quiet = false;                      ///< no progress lines
  /// Bench mode: no run folder is read or written (no resume, config, metrics, checkpoints or
  /// held-out loss); the loop, the models and the step are training's own.
  bool bench = false;
  int start_phase = 0;      ///< skip the plan's earlier phases (bench a later one)
  bool time_parts = false;  ///< split each step's time (synchronises the device)
  /// Micro-batches from here instead of data.train (bench on synthetic tokens).
  std::function<HostBatch()> batches;
  /// Teacher signals from here instead of teacher.* (bench with a synthetic teacher); not owned.
  teacher::TeacherSource* teacher = nullptr;
  std::function<void(int64_t steps_run)> before_step;  ///< called before each step
  std::function<bool(const StepReport&)> after_step;   ///< after each applied step; false stops
};

struct TrainResult {
  TrainState state;
  bool finished = false;  ///< the whole budget was spent
  /// Why the run stopped early after writing a checkpoint at the step every rank agreed on
  /// ("SIGTERM", "the time limit", ...; "" when it did not): `train` then exits with kExitRequeue.
  std::string stopped;
  double valid_loss = -1;  ///< held-out NLL at the end (-1 without validation data)
  std::string last_checkpoint;
  budget::BudgetPlan plan;  ///< the plan the run followed (phases, steps, per-token costs)
};

/// Runs or resumes `cfg` in cfg.run.dir. Throws InputError for bad configs/data/checkpoints.
TrainResult run_training(const config::ExperimentConfig& cfg, const TrainOptions& opts = {});

}  // namespace hld::train
