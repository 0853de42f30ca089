// Run folders as report records: the resolved `config.yaml` the trainer writes (objective and its
// hyper-parameters, learning rate, seed, model name) and the `eval.json` metrics, grouped into
// hyper-parameter points (one point = one cell of the paper's grid, averaged over seeds).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hld/spec/objective.h"

namespace hld::report {

/// One training run.
struct RunRecord {
  std::string dir;                        ///< run folder
  std::string method;                     ///< nll | kd | hldc | hldf | teacher
  std::string model;                      ///< model.name (groups runs into tables: one per student size)
  double lr = 0;                          ///< optimizer.lr (η; for HLDF also η_HT, as in the paper)
  double alpha = 0;                       ///< objective.alpha (0 where the method has none)
  double temperature = 0;                 ///< objective.temperature τ
  double gamma = 0;                       ///< objective.gamma (HLDC only)
  double p1 = 0;                          ///< objective.p1 (HLDF only)
  std::string variant;                    ///< distillation variant beyond the paper's ("" = the paper's KD/HLD:
                                          ///< forward KL, renormalised top-k, one hidden pair), e.g. "reverse_kl"
  uint64_t seed = 0;                      ///< run.seed
  bool finished = false;                  ///< eval.json was found and read
  std::map<std::string, double> metrics;  ///< metric id (see metrics.h) → value
  std::optional<double> flops;            ///< training FLOPs recorded in eval.json
  std::optional<double> tokens;           ///< training tokens recorded in eval.json
  std::string teacher_checkpoint;         ///< teacher.checkpoint (distilled runs)
  std::string teacher_source;             ///< teacher.source: online | cache
  std::string teacher_cache;              ///< teacher.cache (source: cache)
  bool teacher_counted = false;           ///< budget.count_teacher: the online teacher forward is in `flops`
};

/// Reads `dir/config.yaml` (or the `config` object/string inside eval.json) and `dir/eval.json`.
/// A run without eval.json is returned unfinished (no metrics). Unreadable YAML/JSON or a folder
/// with neither file: InputError naming the file.
RunRecord load_run(const std::string& dir);

/// Run folders under `roots`: a root holding config.yaml or eval.json is a run; otherwise its
/// subfolders are searched (4 levels deep). A missing root, or one without any run: InputError.
std::vector<std::string> find_run_dirs(const std::vector<std::string>& roots);

/// The method of a teacher's own evaluation row (not an objective).
inline constexpr const char* kTeacherMethod = "teacher";

/// Display name of a method: the objective's label (spec/objective.h), "Teacher".
std::string method_label(const std::string& method);
/// Sort rank of a method in tables: the teacher, then the registry's order.
int method_rank(const std::string& method);
/// Whether `method`'s comparison points are defined by hyper-parameter `h` (besides η).
bool has_hparam(const std::string& method, spec::Hparam h);
/// Whether `method` learns from a teacher (its cost includes the teacher's).
bool distills(const std::string& method);
/// Whether `method` is the reference that has none of its own (NLL): its comparisons come first.
bool is_baseline_reference(const std::string& method);

/// A hyper-parameter point: method + model + the hyper-parameters that apply to the method
/// (the others are 0), values rounded to 6 significant digits.
struct PointKey {
  std::string model, method;
  std::string variant;  ///< RunRecord::variant: a variant is a point of its own
  double lr = 0, alpha = 0, temperature = 0, gamma = 0, p1 = 0;
  bool operator<(const PointKey& o) const;
  bool operator==(const PointKey& o) const;
};

/// Whether `method`'s point shares reference point `ref`'s hyper-parameters (paper §4 "Shared
/// hyperparameters"): same model and η, and the same value of every hyper-parameter both methods
/// have (τ and α between KD and HLDC/HLDF; γ and P1 are the method's own). Only a point without a
/// variant is a reference.
bool shares_hparams(const PointKey& method, const PointKey& ref);

/// The method a point is compared against (spec/objective.h: its reference, or for a variant its
/// variant reference), or nullopt (NLL, the teacher).
std::optional<std::string> reference_of(const PointKey& k);

PointKey point_key(const RunRecord& r);

/// Display name of a point's method with its variant ("KD", "KD [reverse_kl]").
std::string point_label(const PointKey& k);
/// The same for CSV cells: the method id with its variant ("kd", "kd[reverse_kl]").
std::string point_id(const PointKey& k);

/// Runs of one point, with per-metric means over the seeds that have the metric.
struct Point {
  PointKey key;
  std::vector<const RunRecord*> runs;  ///< sorted by seed
  std::map<std::string, double> mean;  ///< metric id → mean over runs having it
  std::map<std::string, int> count;    ///< metric id → number of runs having it
  std::optional<double> flops;         ///< mean training FLOPs
};

/// Groups runs into points (sorted: model, method rank, η, α, τ, γ, P1). The pointers refer into
/// `runs`, which must outlive the result.
std::vector<Point> group_points(const std::vector<RunRecord>& runs);

/// Canonical value for keys and comparisons: `v` rounded to 6 significant digits.
double canon(double v);

}  // namespace hld::report
