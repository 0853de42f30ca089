// The paper's table layouts built from hyper-parameter points: all runs (Tables 4/5), best
// hyper-parameters per method (Table 2), the pointwise comparisons (Δ = method − reference) and
// their sign statistics.
// `precise` tables (CSV) print 6 significant digits; the others (Markdown) the paper's 3 decimals.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hld/report/compare.h"
#include "hld/report/paired.h"
#include "hld/report/runs.h"
#include "hld/report/table.h"

namespace hld::report {

/// Distinct models of `points`, in sorted order.
std::vector<std::string> models_of(const std::vector<Point>& points);

/// The points of one model.
std::vector<Point> points_of(const std::vector<Point>& points, const std::string& model);

/// Metric ids shown for a group: the paper's seven (precise: all of them, for the fixed CSV layout;
/// else only those some point has), then "valid" when any point has it.
std::vector<std::string> shown_metrics(const std::vector<Point>& points, bool table2_order, bool precise);

/// The metric that picks the best hyper-parameters: "c4" when any point has it (the paper's
/// choice), else "valid" (held-out shards, e.g. the quickstart), else "".
std::string selection_metric(const std::vector<Point>& points);

/// The best point of each method (nll, kd, hldc, hldf) by `metric` (ties: the next metrics in
/// Table 2 order, then the grid order). Methods without any point having the metric are absent.
std::vector<const Point*> best_points(const std::vector<Point>& points, const std::string& metric);

/// Tables 4/5 layout: Method, η, P1, α, τ, γ, metrics..., [seeds,] FLOPs. Blank: not applicable.
Table runs_table(const std::vector<Point>& points, bool precise);

/// Table 2 layout: Method, metrics (Table 2 order), best point, FLOPs; rows Random, Teacher
/// (when `teacher` is given), then the best point of each method; Markdown bolds each column's
/// best student value.
Table best_table(const std::vector<Point>& points, const std::string& metric, const Point* teacher, bool precise);

/// One row per pointwise comparison (point means): Comparison ("HLDF − KD"), η, α, τ, γ, P1, the
/// method's value, the reference's value, Δ = method − reference.
Table pointwise_table(const std::vector<Comparison>& comps, bool precise);

/// Sign statistics per comparison: Model, Metric, Comparison, n, method lower / higher / ties,
/// mean and median Δ, sign-test p, bootstrap interval of the mean Δ.
Table summary_table(const std::vector<SignSummary>& sums, bool precise);

/// Seed-paired comparisons, one row per point: Comparison, Point, Metric, seeds, mean Δ, its
/// interval and kind, per-seed signs (precise: every number, for paired.csv).
Table paired_table(const std::vector<PairedPoint>& pairs, bool precise);

/// One-line description of a point's hyper-parameters ("η 0.0016, α 0.7, τ 1, P1 0.05").
std::string describe_point(const PointKey& k);

}  // namespace hld::report
