// The FLOPs-matched budget controller: turns a config's budget (steps, NLL tokens, FLOPs or
// overtraining units OT_k), batch and context into optimizer steps for each training phase, so
// that every objective spends the same FLOPs to within one optimizer step (SPEC §8).
//
// Budget units (budget.unit, budget.amount):
//   flops   B = amount
//   tokens  B = amount × C_data                 (tokens of NLL training)
//   ot      B = amount × 20 × N × C_data        (OT_k: k × Chinchilla's 20 tokens per backbone param)
//   steps   B = amount × tokens_per_step × C_x  (that many steps of the run's objective; for HLDF,
//                                               of its phase-2 KD objective, so HLDF at "steps: S"
//                                               spends what KD at "steps: S" spends). Not
//                                               compute-matched across objectives with different
//                                               costs: use flops/tokens/ot for comparisons.
// tokens_per_step = data.batch_size × world_size × data.context (grad_accum splits batch_size
// into micro-batches, it does not multiply it).
//
// Steps are floor(phase budget / FLOPs per step): a run never spends more than its budget and
// leaves less than one step unspent. HLDF: phase 1 ("hint", C_HT per token) gets
// floor(P1·B / step₁) steps, phase 2 ("kd", C_KD) gets floor((B − spent₁) / step₂): the total is
// within one phase-2 step of B and the split is P1 : 1 − P1 to within one phase-1 step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hld/budget/costs.h"
#include "hld/config/experiment.h"

namespace hld::budget {

/// One training phase: a single one for nll/kd/hldc, two ("hint", "kd") for hldf.
struct PhasePlan {
  std::string name;             ///< "train" | "hint" (HLDF phase 1) | "kd" (HLDF phase 2)
  std::string cost_model;       ///< per-token cost used: "data" | "kd" | "hldc" | "ht"
  int64_t cost_per_token = 0;   ///< FLOPs per training token
  int64_t tokens_per_step = 0;  ///< global batch × context
  int64_t flops_per_step = 0;   ///< cost_per_token × tokens_per_step
  double target_flops = 0;      ///< share of the budget given to this phase
  int64_t steps = 0;            ///< optimizer steps the phase runs
  int64_t tokens = 0;           ///< steps × tokens_per_step
  double flops = 0;             ///< steps × flops_per_step: what the phase spends
};

/// The whole plan for one run; built by plan(), read-only afterwards.
struct BudgetPlan {
  config::Objective objective = config::Objective::kNll;
  config::BudgetUnit unit = config::BudgetUnit::kSteps;
  double amount = 0;  ///< budget.amount as configured
  int world_size = 1;
  int64_t global_batch = 0;  ///< sequences per optimizer step, all ranks
  int64_t context = 0;
  int64_t tokens_per_step = 0;

  config::ParamCounts student;                 ///< student parameter counts
  std::optional<config::ParamCounts> teacher;  ///< teacher counts when its shape is known
  std::optional<int64_t> regressor_params;     ///< N_reg of this run's regressor (hldc/hldf)
  std::optional<config::RegressorKind> regressor_kind;
  TokenCosts costs;  ///< C_data, C_KD, C_HT, C_HLDC for this config

  double budget_flops = 0;  ///< B, the budget in FLOPs
  double nll_tokens = 0;    ///< B / C_data
  double ot_units = 0;      ///< B / (20·N·C_data)
  std::vector<PhasePlan> phases;
  int64_t total_steps = 0;
  int64_t total_tokens = 0;
  double total_flops = 0;      ///< Σ phase flops ≤ B
  double remainder_flops = 0;  ///< B − total_flops (< one step of the last phase)

  /// FLOPs spent after `steps_done` steps of phase `phase` (all earlier phases complete).
  double flops_spent(size_t phase, int64_t steps_done) const;
};

/// Builds the plan for `c` on `world_size` data-parallel ranks. `teacher` overrides
/// c.teacher.model (a shape read from the teacher checkpoint). Throws InputError naming the key
/// when the budget is malformed (non-integer steps, a phase left with zero steps, world_size < 1).
BudgetPlan plan(const config::ExperimentConfig& c, int world_size = 1, const config::ModelConfig* teacher = nullptr);

/// Model FLOPs utilisation: tokens_per_s × flops_per_token / peak_flops (0 when peak ≤ 0).
double mfu(double tokens_per_s, double flops_per_token, double peak_flops);

/// The plan as JSON: params.*, cost_per_token.*, ratio.*, phases[], total.*, budget.*; with
/// `tokens_per_s` > 0 also estimate.* (wall-clock at that NLL-equivalent throughput).
nlohmann::json to_json(const BudgetPlan& p, double tokens_per_s = 0);

/// The plan as readable text (what `hld-train flops` prints).
std::string format_plan(const BudgetPlan& p, double tokens_per_s = 0);

/// Wall-clock seconds of `p` at `tokens_per_s` tokens/s of NLL training: FLOPs ÷ (throughput ×
/// C_data), so cheaper phases (HLDF phase 1) run proportionally faster.
double estimate_seconds(const BudgetPlan& p, double tokens_per_s);

}  // namespace hld::budget
