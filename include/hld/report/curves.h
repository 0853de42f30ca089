// Loss curves from run folders' metrics.jsonl: the held-out loss of periodic evaluations
// (run.eval_every, records with "valid/loss") and the student's logged train NLL ("train/nll":
// comparable across objectives, unlike train/loss, which mixes in the KD and hidden terms), against
// training FLOPs ("flops/spent"), averaged over the seeds of a hyper-parameter point with a
// min–max band. Used for the loss-curve figures and for compute questions ("how many FLOPs did KD
// need to reach NLL's final loss?") in the teacher-inclusive accounting.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hld/report/runs.h"

namespace hld::report {

struct CurvePoint {
  int64_t step = 0;
  double flops = 0;       ///< mean over the runs having this step
  double mean = 0;        ///< loss, mean over runs
  double lo = 0, hi = 0;  ///< min and max over runs
  int n = 0;              ///< runs having this step
};

/// One curve of one point: "valid" (held-out loss) or "train" (train NLL).
struct Curve {
  std::string model, method, kind;
  PointKey point;
  int runs = 0;                           ///< runs of the point with a metrics.jsonl
  std::vector<CurvePoint> points;         ///< ascending step
  std::optional<double> phase_end_flops;  ///< FLOPs where the first phase ended (HLDF: hint → kd)
};

/// The "valid" and "train" curves of `p` (either may have no points). Lines of metrics.jsonl
/// that are not JSON objects are skipped (a crash can leave a torn last line).
std::vector<Curve> point_curves(const Point& p);

/// FLOPs at which `c` first reaches `target` or less, interpolating linearly between records;
/// nullopt when it never does.
std::optional<double> flops_to_reach(const Curve& c, double target);

/// The curve's value at `flops` (linear interpolation), nullopt outside its FLOPs range.
std::optional<double> value_at(const Curve& c, double flops);

}  // namespace hld::report
