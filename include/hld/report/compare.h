// Pointwise comparison against KD at shared hyper-parameters (paper §4 "Shared hyperparameters",
// Figures 2–7): improvement = KD − method for every lower-is-better metric (positive: the method
// beats KD), with sign counts, an exact two-sided sign test and a bootstrap interval of the mean.
// Seed-paired statistics (several seeds per point) are in paired.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hld/report/runs.h"

namespace hld::report {

/// One (method point, KD point) pair on one metric.
struct Comparison {
  std::string model, metric, method;
  PointKey method_point, kd_point;
  double kd = 0, value = 0;
  double improvement = 0;  ///< kd − value
};

/// Every method point (nll, hldc, hldf) against every KD point it shares hyper-parameters with,
/// on `metric`, using the points' means over seeds. Points without the metric are skipped.
std::vector<Comparison> pointwise(const std::vector<Point>& points, const std::string& metric);

/// Statistics of the comparisons of one (model, metric, method).
struct SignSummary {
  std::string model, metric, method;
  std::string variant;  ///< the method point's variant ("" for the paper's)
  int n = 0, wins = 0, losses = 0, ties = 0;  ///< wins: improvement > 0
  double mean = 0, median = 0;
  double sign_p = 1;            ///< exact two-sided sign test (ties dropped)
  double ci_lo = 0, ci_hi = 0;  ///< bootstrap percentile interval of the mean improvement
};

/// Groups `comps` by (model, metric, method) and summarises each group. `bootstrap` resamples
/// (≥ 1) with a fixed `rng_seed`, `level` the interval's coverage (0.95).
std::vector<SignSummary> summarize(const std::vector<Comparison>& comps, int bootstrap = 10000, uint64_t rng_seed = 0,
                                   double level = 0.95);

/// Exact two-sided sign-test p-value for `wins` successes out of `wins + losses` at p = 1/2.
double sign_test_p(int wins, int losses);

}  // namespace hld::report
