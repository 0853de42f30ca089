// Teacher-inclusive compute (Busbridge et al., ICML 2025, "Distillation Scaling Laws"): is
// distillation worth it once the teacher's own cost is counted? A distilled run is charged its
// teacher's pre-training FLOPs (the teacher run folder's eval.json) plus the cache-generation FLOPs
// (the teacher forward over the cached tokens, `cost.json` that `cache-teacher` writes), in full or
// shared by N students. Methods are then re-ranked at NLL's total compute, reading each one's
// held-out curve at what is left for the student, and the break-even N is stated: how many
// students must share one teacher before KD is cheaper than NLL for the same held-out loss.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hld/report/curves.h"
#include "hld/report/runs.h"
#include "hld/report/table.h"

namespace hld::report {

/// `report --teacher-cost none | full | amortize:N`.
struct TeacherCostMode {
  enum class Kind { kNone, kFull, kAmortize } kind = Kind::kNone;
  int64_t students = 1;  ///< amortize: the teacher's cost is divided by this many students
  /// The share of the teacher's cost charged to one student (0, 1 or 1/N).
  double share() const { return kind == Kind::kNone ? 0.0 : 1.0 / static_cast<double>(students); }
  std::string text() const;
};

/// InputError naming --teacher-cost for anything but none, full, amortize:N (N ≥ 1).
TeacherCostMode parse_teacher_cost(const std::string& s);

/// The teacher FLOPs behind one distilled run (zero and unknown for NLL).
struct TeacherCharge {
  double pretrain = 0;  ///< the teacher run's training FLOPs
  double cache = 0;     ///< the teacher forward over the cached tokens (or, online, over the trained ones)
  bool pretrain_known = false, cache_known = false;
  double total() const { return pretrain + cache; }
};

/// Finds the teacher of `r` among `teachers` (by folder), else reads the run folder its
/// teacher.checkpoint names; and the cache cost from teacher.cache/cost.json.
TeacherCharge teacher_charge(const RunRecord& r, const std::vector<RunRecord>& teachers);

struct TeacherCostSection {
  std::string markdown;  ///< table and break-even sentences
  Table csv;             ///< model, method, point, FLOPs and losses (teacher_cost.csv)
};

/// The section for one model's points (best point per method by `metric`), reading each best
/// point's held-out curve from `curves` (point_curves() of those points; others are ignored).
TeacherCostSection teacher_cost_section(const std::vector<Point>& points, const std::string& metric,
                                        const std::vector<Curve>& curves, const std::vector<RunRecord>& teachers,
                                        const TeacherCostMode& mode);

}  // namespace hld::report
