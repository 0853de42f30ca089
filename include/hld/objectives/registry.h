// The objectives and their phases, declared once: what each phase trains, what it costs per
// token, whether it uses the hint regressor, its learning-rate schedule, its share of the budget
// and the teacher signals it reads. budget::plan, the trainer, `flops`, `bench` and
// `cache-teacher` iterate over these phases; none of them knows an objective by name. Adding an
// objective: its loss in objective.cpp, its entry here. Torch-free (the budget core reads it).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "hld/config/experiment.h"

namespace hld::objectives {

/// The loss a phase computes: the objective's main loss, or HLDF's hint loss (eq. 4).
enum class Phase { kMain = 0, kHint = 1 };

/// What a phase of an objective needs from the teacher.
struct Needs {
  bool teacher_logits = false;
  bool teacher_hidden = false;
  bool any() const { return teacher_logits || teacher_hidden; }
};

enum class Trains { kWholeStudent, kFirstBlocks };  ///< first blocks: embedding + blocks 1..m_S
enum class LrSchedule { kWsd, kWarmupConstant };    ///< WSD (optimizer.lr) | η_HT warm-up then constant
enum class CostModel { kData, kKd, kHldc, kHt };    ///< C_data, C_KD, C_HLDC, C_HT (budget/costs.h)
enum class BudgetShare { kP1, kRest };              ///< objective.p1 of the budget | what is left

struct PhaseSpec {
  const char* name;  ///< "train" | "hint" | "kd": the plan's, metrics' and checkpoints' name
  Phase loss;
  CostModel cost;
  Trains trains;
  bool regressor;  ///< trains and uses the hint regressor
  LrSchedule schedule;
  BudgetShare share;
  Needs needs;
};

struct ObjectiveSpec {
  config::Objective id;
  std::vector<PhaseSpec> phases;
  config::RegressorKind default_regressor;  ///< when objective.regressor is auto
};

/// The registry, in config::Objective order.
inline const std::vector<ObjectiveSpec>& registry() {
  using config::Objective;
  using config::RegressorKind;
  static const std::vector<ObjectiveSpec> specs = {
      {Objective::kNll,
       {{"train",
         Phase::kMain,
         CostModel::kData,
         Trains::kWholeStudent,
         false,
         LrSchedule::kWsd,
         BudgetShare::kRest,
         {false, false}}},
       RegressorKind::kLinear},
      {Objective::kKd,
       {{"train",
         Phase::kMain,
         CostModel::kKd,
         Trains::kWholeStudent,
         false,
         LrSchedule::kWsd,
         BudgetShare::kRest,
         {true, false}}},
       RegressorKind::kLinear},
      {Objective::kHldc,  // eq. 3: KD plus the hidden-state loss through a linear regressor
       {{"train",
         Phase::kMain,
         CostModel::kHldc,
         Trains::kWholeStudent,
         true,
         LrSchedule::kWsd,
         BudgetShare::kRest,
         {true, true}}},
       RegressorKind::kLinear},
      {Objective::kHldf,  // phase 1: hint loss (eq. 4) on the first half; phase 2: KD, fresh optimizer
       {{"hint",
         Phase::kHint,
         CostModel::kHt,
         Trains::kFirstBlocks,
         true,
         LrSchedule::kWarmupConstant,
         BudgetShare::kP1,
         {false, true}},
        {"kd",
         Phase::kMain,
         CostModel::kKd,
         Trains::kWholeStudent,
         false,
         LrSchedule::kWsd,
         BudgetShare::kRest,
         {true, false}}},
       RegressorKind::kMlp},
  };
  return specs;
}

inline const ObjectiveSpec& spec(config::Objective o) {
  for (const auto& s : registry())
    if (s.id == o) return s;
  throw std::logic_error("objective missing from the registry");
}

/// True when some phase of `o` uses the hint regressor.
inline bool uses_regressor(config::Objective o) {
  for (const auto& p : spec(o).phases)
    if (p.regressor) return true;
  return false;
}

/// True when some phase of `o` reads a teacher signal (logits or hidden states).
inline bool reads_teacher(config::Objective o) {
  for (const auto& p : spec(o).phases)
    if (p.needs.any()) return true;
  return false;
}

}  // namespace hld::objectives
