// Pointwise comparisons at shared hyper-parameters (paper §4 "Shared hyperparameters", Figures
// 2–7), in the report's one Δ convention: Δ = method − reference on a lower-is-better metric, so
// Δ < 0 means the method is better. Each comparison is made once, in one direction: HLDC, HLDF and
// the KD variants against KD, and KD against NLL (the paper's figures plot −Δ, "improvement over
// KD"). Per (model, metric, comparison): sign counts, an exact two-sided sign test and a bootstrap
// interval of the mean Δ. Seed-paired statistics (several seeds per point) are in paired.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hld/report/runs.h"

namespace hld::report {

/// One method point against one reference point on one metric (means over seeds).
struct Comparison {
  std::string model, metric, method;
  std::string reference;  ///< "kd" (for HLDC, HLDF and KD variants) or "nll" (for the paper's KD)
  PointKey method_point, reference_point;
  double value = 0;            ///< the method's value
  double reference_value = 0;  ///< the reference's value
  double delta = 0;            ///< value − reference_value (< 0: the method is better)
};

/// Every HLDC, HLDF and KD-variant point against every KD point it shares hyper-parameters with,
/// and every KD point against the NLL point at its η, on `metric`. Points without the metric are
/// skipped.
std::vector<Comparison> pointwise(const std::vector<Point>& points, const std::string& metric);

/// "HLDF − KD", "KD [reverse_kl] − KD", "KD − NLL": the comparison as the tables name it.
std::string comparison_label(const PointKey& method_point, const std::string& reference);

/// Statistics of the comparisons of one (model, metric, method, reference).
struct SignSummary {
  std::string model, metric, method, reference;
  std::string variant;                         ///< the method point's variant ("" for the paper's)
  int n = 0, lower = 0, higher = 0, ties = 0;  ///< lower: Δ < 0, the method beats its reference
  double mean = 0, median = 0;                 ///< of Δ
  double sign_p = 1;                           ///< exact two-sided sign test (ties dropped)
  double ci_lo = 0, ci_hi = 0;                 ///< bootstrap percentile interval of the mean Δ
};

/// Groups `comps` by (model, metric, method, reference) and summarises each group. `bootstrap`
/// resamples (≥ 1) with a fixed `rng_seed`, `level` the interval's coverage (0.95).
std::vector<SignSummary> summarize(const std::vector<Comparison>& comps, int bootstrap = 10000, uint64_t rng_seed = 0,
                                   double level = 0.95);

/// Exact two-sided sign-test p-value for `a` successes out of `a + b` at p = 1/2.
double sign_test_p(int a, int b);

}  // namespace hld::report
