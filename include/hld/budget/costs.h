// Per-token training costs in FLOPs (paper §4 "FLOPs accounting", Table 3; SPEC §8): exact
// parameter counts of the student, teacher and hint regressor turned into C_data, C_KD, C_HT and
// C_HLDC. Pure functions of the configs; no LibTorch.
//
//   forward pass 2N, half forward N, de-embedding 2·d·V, regressor 2·N_reg  (Table 3)
//   backward = 2 × forward for parametric layers → training = 3 × forward
//
//   C_data = 6N + 6·d_S·V                      C_KD   = C_data + C_teacher
//   C_HT   = 3N + 6·N_reg + C_teacher/2        C_HLDC = C_KD + 6·N_reg
//   C_teacher = 2N_T + 2·d_T·V when the teacher runs online and budget.count_teacher is set,
//               0 otherwise (a cached teacher: the paper's protocol).
//
// C_HT generalises "half" to the configured hint layers: 6N·m_S/D_S and C_teacher·m_T/D_T, which
// equal 3N and C_teacher/2 at the defaults m = D/2 (even D).
#pragma once

#include <cstdint>
#include <optional>

#include "hld/config/experiment.h"

namespace hld::budget {

/// Hidden width of an MLP regressor: round(expansion × d_S), at least 1 (paper: 4 × d_S).
int64_t regressor_hidden(int64_t d_student, double expansion);

/// Exact parameter count of a hint regressor d_S → d_T. No biases anywhere, like the student's
/// own linear layers (h = regressor_hidden(d_S, expansion)):
///   linear:     W (d_T, d_S)                                 = d_S·d_T
///   mlp:        Linear(d_S→h) · GELU(tanh) · Linear(h→d_T)   = d_S·h + h·d_T
///   gated_mlp:  down(gelu(gate x) ⊙ up x), gate/up d_S→h     = 2·d_S·h + h·d_T
int64_t regressor_params(config::RegressorKind kind, int64_t d_student, int64_t d_teacher, double expansion);

/// Forward FLOPs per token of a whole model: 2·backbone + 2·d·V (the teacher's C_teacher).
int64_t forward_cost(const config::ModelConfig& m);

/// Per-token costs of the four objectives for one experiment config.
struct TokenCosts {
  int64_t student_backbone = 0;           ///< N
  int64_t d_student = 0;                  ///< d_S
  int64_t vocab = 0;                      ///< V
  std::optional<int64_t> d_teacher;       ///< d_T (unknown without a teacher shape)
  bool teacher_counted = false;           ///< C_teacher is included (online teacher + count_teacher)
  int64_t teacher = 0;                    ///< C_teacher per token as counted (0 when not counted)
  std::optional<int64_t> regressor_hldc;  ///< N_reg in C_HLDC (the run's regressors if it uses C_HLDC, else HLDC's)
  std::optional<int64_t> regressor_hldf;  ///< N_reg in C_HT (the run's regressors if it uses C_HT, else HLDF's)
  int64_t data = 0;                       ///< C_data = 6N + 6·d_S·V
  int64_t kd = 0;                         ///< C_KD = C_data + C_teacher
  std::optional<int64_t> ht;              ///< C_HT (needs d_T)
  std::optional<int64_t> hldc;            ///< C_HLDC (needs d_T)

  /// C_x / C_data (nullopt when C_x is unknown).
  static std::optional<double> ratio(std::optional<int64_t> c, int64_t data);
};

/// Costs for `c`. `teacher` overrides c.teacher.model (e.g. a shape read from a checkpoint).
/// Throws InputError when the teacher must be counted but its shape is unknown.
TokenCosts token_costs(const config::ExperimentConfig& c, const config::ModelConfig* teacher = nullptr);

}  // namespace hld::budget
