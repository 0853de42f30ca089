// Seed-paired comparisons (issue: "a study that states its confidence"). Runs of two methods at
// one shared hyper-parameter point are paired by seed — the same seed means the same data order
// and initialisation — and the per-seed differences (method − reference, lower is better) give a
// mean with a 95 % interval over seeds: Student t with n − 1 degrees of freedom, or a percentile
// bootstrap over seeds once n ≥ 5. Across the points of one (model, metric, method), each seed's
// differences are averaged over the points first, so that seeds stay the independent unit.
// The verdict sentences of report.md are generated from these numbers, never written by hand.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hld/report/runs.h"

namespace hld::report {

/// A mean with its interval over independent repeats.
struct Interval {
  int n = 0;
  double mean = 0;
  double lo = 0, hi = 0;  ///< equal to the mean when n < 2 (no interval)
  std::string kind;       ///< "t" | "bootstrap" | "none" (n < 2)
  bool covers_zero() const { return kind == "none" || (lo <= 0 && hi >= 0); }
};

/// The q-quantile of Student's t with `df` degrees of freedom (df > 0, 0 < q < 1).
double student_t_quantile(double q, double df);

/// Mean of `xs` with a `level` interval: Student t for 2 ≤ n < 5, a percentile bootstrap with
/// `bootstrap` resamples (RNG seeded `rng_seed`) for n ≥ 5, none for n < 2.
Interval mean_interval(const std::vector<double>& xs, int bootstrap = 10000, uint64_t rng_seed = 0,
                       double level = 0.95);

/// One method point against one reference point, run by run over their shared seeds.
struct PairedPoint {
  std::string model, metric, method, reference;  ///< reference: "kd" (for hldc, hldf, KD variants) or "nll" (for kd)
  PointKey method_point, reference_point;
  std::vector<uint64_t> seeds;          ///< shared seeds, ascending
  std::vector<double> diffs;            ///< method − reference per seed (< 0: the method is better)
  Interval diff;                        ///< mean of diffs with its interval
  int lower = 0, higher = 0, ties = 0;  ///< seeds where the method is below / above / equal (|Δ| < 1e-9)
};

/// Every HLDC, HLDF and KD-variant point against each KD point it shares hyper-parameters with,
/// and every KD point against the NLL point at its η, on `metric` (each comparison once, in the
/// direction of compare.h). Points without a shared seed are skipped.
std::vector<PairedPoint> paired_points(const std::vector<Point>& points, const std::string& metric,
                                       int bootstrap = 10000, uint64_t rng_seed = 0);

/// One comparison (model, metric, method vs reference) over all its points.
struct PairedVerdict {
  std::string model, metric, method, reference;
  std::string variant;                     ///< the method's variant ("" for the paper's)
  int points = 0;                          ///< paired points
  int seeds = 0;                           ///< seeds shared by every point (the interval's n)
  Interval diff;                           ///< over seeds of the per-seed mean over points
  int points_excluding_zero = 0;           ///< points whose own interval excludes 0 ...
  int points_below = 0, points_above = 0;  ///< ... split by side (below: the method is better there)
  int lower_runs = 0, runs = 0;            ///< seed pairs where the method is lower, of all pairs
  int min_lower = 0, min_of = 0;           ///< the point with the fewest lower seeds (ties: fewest seeds)
  int max_lower = 0, max_of = 0;           ///< and the one with the most (ties: most seeds)
  std::string sentence;  ///< e.g. "HLDF − KD on held-out loss: −0.150 nats [−0.190, −0.110], …";
                         ///< with one seed it says there is no interval and how to get one
};

/// Groups `pairs` by (model, metric, method, reference) and states each group's verdict.
std::vector<PairedVerdict> paired_verdicts(const std::vector<PairedPoint>& pairs, int bootstrap = 10000,
                                           uint64_t rng_seed = 0);

/// What a metric is called in a sentence ("held-out loss", "C4 log-perplexity", "HSwag error")
/// and its unit ("nats" or "" for error rates).
std::string metric_phrase(const std::string& metric);
std::string metric_unit(const std::string& metric);

}  // namespace hld::report
