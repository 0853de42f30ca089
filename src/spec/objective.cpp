// The objective registry (see objective.h). One entry per objective, in report order.
#include "hld/spec/objective.h"

#include <stdexcept>
#include <string>

namespace hld::spec {
namespace {

// Shorthands for the phase table below.
constexpr Needs kNothing{false, false}, kLogits{true, false}, kHidden{false, true}, kBoth{true, true};

PhaseSpec whole(CostModel cost, Needs needs, bool regressor = false, HiddenWeighting hidden = HiddenWeighting::kGamma) {
  return {"train", Phase::kMain, cost, Trains::kWholeStudent, regressor, LrSchedule::kWsd, BudgetShare::kRest,
          needs,   hidden};
}

}  // namespace

const std::vector<ObjectiveSpec>& registry() {
  static const std::vector<ObjectiveSpec> specs = {
      {Objective::kNll,
       "nll",
       "NLL",
       "#9467bd",
       std::nullopt,
       std::nullopt,
       0u,
       RegressorKind::kLinear,
       {whole(CostModel::kData, kNothing)}},
      // eq. 2: (1 − α)·NLL + α·τ²·KL(p_T ‖ p_S)
      {Objective::kKd,
       "kd",
       "KD",
       "#d62728",
       Objective::kNll,
       Objective::kKd,
       kAlpha | kTemperature,
       RegressorKind::kLinear,
       {whole(CostModel::kKd, kLogits)}},
      // eq. 3: KD plus γ × the hidden-state loss through a linear regressor
      {Objective::kHldc,
       "hldc",
       "HLDC",
       "#1f77b4",
       Objective::kKd,
       Objective::kKd,
       kAlpha | kTemperature | kGamma,
       RegressorKind::kLinear,
       {whole(CostModel::kHldc, kBoth, /*regressor=*/true)}},
      // phase 1: hint loss (eq. 4) on the first half; phase 2: KD, fresh optimizer
      {Objective::kHldf,
       "hldf",
       "HLDF",
       "#2ca02c",
       Objective::kKd,
       Objective::kKd,
       kAlpha | kTemperature | kP1,
       RegressorKind::kMlp,
       {{"hint", Phase::kHint, CostModel::kHt, Trains::kFirstBlocks, true, LrSchedule::kWarmupConstant,
         BudgetShare::kP1, kHidden},
        {"kd", Phase::kMain, CostModel::kKd, Trains::kWholeStudent, false, LrSchedule::kWsd, BudgetShare::kRest,
         kLogits}}},
      // HLDC with the hidden term rescaled to the KD term's magnitude (docs/objectives.md)
      {Objective::kHldcBalanced,
       "hldc_balanced",
       "HLDC-B",
       "#ff7f0e",
       Objective::kKd,
       Objective::kKd,
       kAlpha | kTemperature | kGamma,
       RegressorKind::kLinear,
       {whole(CostModel::kHldc, kBoth, /*regressor=*/true, HiddenWeighting::kBalanced)}},
  };
  return specs;
}

const ObjectiveSpec& of(Objective o) {
  for (const auto& s : registry())
    if (s.id == o) return s;
  throw std::logic_error("objective missing from the registry");
}

const ObjectiveSpec* find(std::string_view name) {
  for (const auto& s : registry())
    if (name == s.name) return &s;
  return nullptr;
}

std::string_view names() {
  static const std::string joined = [] {
    std::string j;
    for (const auto& s : registry()) j += (j.empty() ? "" : " | ") + std::string(s.name);
    return j;
  }();
  return joined;
}

bool ObjectiveSpec::uses_regressor() const {
  for (const auto& p : phases)
    if (p.regressor) return true;
  return false;
}

bool ObjectiveSpec::reads_teacher() const {
  for (const auto& p : phases)
    if (p.needs.any()) return true;
  return false;
}

bool ObjectiveSpec::reads_hidden() const {
  for (const auto& p : phases)
    if (p.needs.teacher_hidden) return true;
  return false;
}

bool ObjectiveSpec::is_baseline_comparison() const { return reference && !of(*reference).reference; }

}  // namespace hld::spec
