// The hidden-layer pairs of HLDC / HLDF after defaults (issue 20): objective.hidden_pairs, the
// `hidden_map: uniform` shorthand, or the paper's single pair (student_layer ↔ teacher_layer).
// Layers are 1-based block counts like objective.student_layer / teacher_layer: layer m is the
// residual stream after m blocks. `hidden_map: uniform` pairs every student block s = 1..D_S with
// teacher block round(s·D_T/D_S) (half away from zero), which is the 0-based
// j = round((i+1)·D_T/D_S) − 1 for i = s − 1. Torch-free (the loader and the budget read it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hld/config/experiment.h"

namespace hld::config {

/// One pair with every default filled in.
struct ResolvedPair {
  int64_t student = 0;  ///< student block count (1..D_S)
  int64_t teacher = 0;  ///< teacher block count (1..D_T)
  double weight = 1.0;  ///< weight of the pair's loss in the hidden term
  HiddenLoss loss = HiddenLoss::kNmse;
  RegressorKind regressor = RegressorKind::kLinear;
  std::string key;  ///< where the teacher layer comes from, for messages ("objective.hidden_pairs[1].teacher")
};

/// The pairs of `cfg` for objective `which` (its default regressor) and a teacher of
/// `teacher_layers` blocks (≤ 0: unknown; then teacher defaults, and the uniform map's teacher
/// layers, resolve to -1). Empty objective.hidden_pairs and hidden_map "": the paper's single pair,
/// exactly cfg.student_hint_layer() ↔ cfg.teacher_hint_layer(). No range checks (see
/// check_hidden_pairs).
std::vector<ResolvedPair> resolve_hidden_pairs(const ExperimentConfig& cfg, Objective which, int64_t teacher_layers);
/// resolve_hidden_pairs for cfg.objective.name.
std::vector<ResolvedPair> resolve_hidden_pairs(const ExperimentConfig& cfg, int64_t teacher_layers);

/// The deepest student layer any pair reads: what HLDF's phase 1 trains (m_S) and runs.
int64_t deepest_student_layer(const ExperimentConfig& cfg);

/// The distinct teacher layers the pairs read, ascending (what a cache must store).
std::vector<int64_t> teacher_layers_needed(const std::vector<ResolvedPair>& pairs);

/// Empty when every pair's layers lie within the student's depth and (teacher_layers > 0) the
/// teacher's; else one line per problem naming the key ("objective.hidden_pairs[1].teacher = 9:
/// expected a block index in [1, 6] (the teacher's depth)").
std::string check_hidden_pairs(const ExperimentConfig& cfg, int64_t teacher_layers);

}  // namespace hld::config
