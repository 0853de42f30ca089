// The objectives, declared once: everything objective-specific that the rest of the code needs —
// the name configs and run folders use, the report's label, order, colour and reference (Δ = the
// objective − its reference), the hyper-parameters that define a comparison point, the default
// hint regressor, and the phases (what each trains, what it costs per token, its learning-rate
// schedule, its share of the budget and the teacher signals it reads).
//
// config, budget, train, teacher, bench and report read this table; none of them knows an
// objective by name. Adding an objective: its entry in src/spec/objective.cpp, its loss in
// src/objectives/objective.cpp (docs/architecture.md, "Extension paths"). The bottom of the
// torch-free core: includes nothing of the project.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace hld::spec {

/// The objectives, in registry (and report) order.
enum class Objective { kNll, kKd, kHldc, kHldf, kHldcBalanced };
/// The hint regressor d_S → d_T of one hidden pair (budget/costs.h counts its parameters).
enum class RegressorKind { kLinear, kMlp, kGatedMlp };

/// The loss a phase computes: the objective's main loss, or HLDF's hint loss (eq. 4).
enum class Phase { kMain = 0, kHint = 1 };
/// How a phase's hidden-state term enters its main loss.
enum class HiddenWeighting {
  kGamma,     ///< γ·H (eq. 3)
  kBalanced,  ///< γ·H·sg(KD / H): H rescaled to the KD term's magnitude each micro-batch (NVIDIA ModelOpt)
};

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

/// Hyper-parameters besides η that define a comparison point (a cell of the paper's grid).
enum Hparam : unsigned { kAlpha = 1u, kTemperature = 2u, kGamma = 4u, kP1 = 8u };

struct PhaseSpec {
  const char* name;  ///< "train" | "hint" | "kd": the plan's, metrics' and checkpoints' name
  Phase loss;
  CostModel cost;
  Trains trains;
  bool regressor;  ///< trains and uses the hint regressor
  LrSchedule schedule;
  BudgetShare share;
  Needs needs;
  HiddenWeighting hidden = HiddenWeighting::kGamma;  ///< main phases that read hidden states
};

struct ObjectiveSpec {
  Objective id;
  const char* name;   ///< objective.name in configs and run folders ("hldc")
  const char* label;  ///< tables and figures ("HLDC")
  const char* color;  ///< figures (gnuplot "#rrggbb")
  /// The paper's comparison: Δ = this − reference at shared hyper-parameters (KD − NLL, HLDC − KD, …).
  std::optional<Objective> reference;
  /// What a variant of this objective (another divergence, sampled logits, several pairs, …) is
  /// compared against: the paper's KD for every distillation objective.
  std::optional<Objective> variant_reference;
  unsigned hparams;                 ///< Hparam bits besides η
  RegressorKind default_regressor;  ///< when objective.regressor is unset
  std::vector<PhaseSpec> phases;

  bool uses_regressor() const;  ///< some phase trains the hint regressor
  bool reads_teacher() const;   ///< some phase reads a teacher signal
  bool reads_hidden() const;    ///< some phase reads teacher hidden states
  bool has(Hparam h) const { return (hparams & h) != 0; }
  /// True for the comparison every other one builds on (its reference has no reference: KD − NLL).
  bool is_baseline_comparison() const;
};

/// Every objective, in report order.
const std::vector<ObjectiveSpec>& registry();
const ObjectiveSpec& of(Objective o);
/// The objective named `name` ("kd"), or null.
const ObjectiveSpec* find(std::string_view name);
/// "nll | kd | hldc | hldf | …", for messages.
std::string_view names();

}  // namespace hld::spec
