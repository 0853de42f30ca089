// Seed-paired differences, their intervals and the verdict sentences (see hld/report/paired.h).
#include "hld/report/paired.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "hld/report/metrics.h"
#include "hld/report/table.h"

namespace hld::report {
namespace {

// Continued fraction of the regularised incomplete beta function (modified Lentz).
double beta_cf(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::abs(d) < kTiny ? kTiny : d);
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    for (int odd = 0; odd < 2; ++odd) {
      const double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
      d = 1 + num * d;
      d = 1 / (std::abs(d) < kTiny ? kTiny : d);
      c = 1 + num / c;
      if (std::abs(c) < kTiny) c = kTiny;
      h *= d * c;
      if (odd && std::abs(d * c - 1) < 1e-15) return h;
    }
  }
  return h;
}

// I_x(a, b).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_cf(a, b, x) / a;
  return 1 - front * beta_cf(b, a, 1 - x) / b;
}

// P(T ≤ t) for Student's t with df degrees of freedom.
double student_t_cdf(double t, double df) {
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));
  return t >= 0 ? 1 - tail : tail;
}

// "−0.150" with a true minus sign, as in the paper's prose.
std::string signed_num(double v, int decimals) {
  std::string s = fmt(("%+." + std::to_string(decimals) + "f").c_str(), v);
  if (s[0] == '-') s = "\xe2\x88\x92" + s.substr(1);
  return s;
}

int decimals_for(const std::string& metric) { return metric_unit(metric).empty() ? 4 : 3; }

// What one seed cannot give, and how to get it (the quickstart and the grid scripts).
constexpr const char* kOneSeed =
    "one seed gives no interval; for a 95 % interval run 3 or more seeds: scripts/quickstart.sh --preset study "
    "or --seeds N, the grid scripts --seeds 0,1,2";

// The verdict sentence, from the numbers alone.
std::string verdict_sentence(const PairedVerdict& v) {
  const int dec = decimals_for(v.metric);
  const std::string unit = metric_unit(v.metric);
  const std::string mlabel = point_label(PointKey{v.model, v.method, v.variant});
  std::ostringstream s;
  s << mlabel << " \xe2\x88\x92 " << method_label(v.reference) << " on " << metric_phrase(v.metric) << ": ";
  std::string number = signed_num(v.diff.mean, dec) + (unit.empty() ? "" : " " + unit);
  const std::string over = v.points == 1 ? "" : ", mean over " + std::to_string(v.points) + " points";

  // One seed at every point: the number, the sign count over points, and what one seed cannot say.
  if (v.seeds == 1 && v.runs == v.points) {
    s << number << over;
    if (v.points > 1) s << "; " << mlabel << " lower at " << v.lower_runs << " of " << v.points << " points";
    s << "; " << kOneSeed << ".";
    return s.str();
  }

  if (v.diff.kind != "none") number += " [" + signed_num(v.diff.lo, dec) + ", " + signed_num(v.diff.hi, dec) + "]";
  const bool mixed = v.points_below > 0 && v.points_above > 0;  // clear effects of both signs
  if (mixed)
    s << "depends on the point (mean over points " << number << ")";
  else if (v.diff.kind == "none")
    s << number << "; "
      << (v.seeds == 1 ? "only one seed is shared by every point: " : "no seed is shared by every point: ") << kOneSeed;
  else if (v.diff.covers_zero())
    s << "not distinguishable (" << number << " covers 0)";
  else
    s << number;
  auto seeds_at = [](int lower, int of) { return std::to_string(lower) + " of " + std::to_string(of) + " seeds"; };
  const std::string where = v.points == 1 ? "" : v.points == 2 ? " at both points" : " at every point";
  // Every point has the same count: the same "lower" out of the same number of seeds.
  const bool uniform = v.min_lower == v.max_lower && v.min_of == v.max_of;
  s << "; " << mlabel << " lower in ";
  if (uniform)
    s << seeds_at(v.min_lower, v.min_of) << where;
  else
    s << v.lower_runs << " of " << v.runs << " seed pairs (per point " << v.min_lower << "/" << v.min_of << " to "
      << v.max_lower << "/" << v.max_of << ")";
  if (v.points > 1 && v.diff.kind != "none") {
    if (mixed)
      s << "; the interval is below 0 at " << v.points_below << " and above 0 at " << v.points_above << " of "
        << v.points << " points";
    else
      s << "; the interval excludes 0 at " << v.points_excluding_zero << " of " << v.points << " points";
  }
  s << " (" << v.points << (v.points == 1 ? " point" : " points") << " × " << v.seeds
    << (v.seeds == 1 ? " seed" : " seeds");
  if (v.diff.kind == "t") s << ", 95 % Student t over seeds";
  if (v.diff.kind == "bootstrap") s << ", 95 % bootstrap over seeds";
  s << ").";
  return s.str();
}

}  // namespace

double student_t_quantile(double q, double df) {
  if (!(q > 0 && q < 1) || !(df > 0)) throw std::invalid_argument("student_t_quantile: need 0 < q < 1 and df > 0");
  if (q == 0.5) return 0;
  if (q < 0.5) return -student_t_quantile(1 - q, df);
  double lo = 0, hi = 1;
  while (student_t_cdf(hi, df) < q) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * std::max(1.0, hi); ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, df) < q ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Interval mean_interval(const std::vector<double>& xs, int bootstrap, uint64_t rng_seed, double level) {
  Interval out;
  out.n = static_cast<int>(xs.size());
  if (xs.empty()) {
    out.kind = "none";
    return out;
  }
  double sum = 0;
  for (double x : xs) sum += x;
  out.mean = sum / out.n;
  out.lo = out.hi = out.mean;
  if (out.n < 2) {
    out.kind = "none";
    return out;
  }
  const double a = (1 - level) / 2;
  if (out.n < 5) {
    double ss = 0;
    for (double x : xs) ss += (x - out.mean) * (x - out.mean);
    const double se = std::sqrt(ss / (out.n - 1) / out.n);
    const double t = student_t_quantile(1 - a, out.n - 1);
    out.lo = out.mean - t * se;
    out.hi = out.mean + t * se;
    out.kind = "t";
    return out;
  }
  std::mt19937_64 rng(rng_seed);
  std::uniform_int_distribution<size_t> pick(0, xs.size() - 1);
  const int b = std::max(1, bootstrap);
  std::vector<double> means(static_cast<size_t>(b));
  for (auto& m : means) {
    double s = 0;
    for (size_t j = 0; j < xs.size(); ++j) s += xs[pick(rng)];
    m = s / static_cast<double>(xs.size());
  }
  std::sort(means.begin(), means.end());
  auto quantile = [&](double q) {
    const double pos = q * (b - 1);
    const auto i = static_cast<size_t>(std::floor(pos));
    const size_t j = std::min(i + 1, means.size() - 1);
    return means[i] + (pos - static_cast<double>(i)) * (means[j] - means[i]);
  };
  out.lo = quantile(a);
  out.hi = quantile(1 - a);
  out.kind = "bootstrap";
  return out;
}

std::string metric_phrase(const std::string& metric) {
  if (metric == "valid") return "held-out loss";
  const auto& spec = metric_spec(metric);
  return spec.header + (spec.error_from_acc ? " error" : " log-perplexity");
}

std::string metric_unit(const std::string& metric) { return metric_spec(metric).error_from_acc ? "" : "nats"; }

std::vector<PairedPoint> paired_points(const std::vector<Point>& points, const std::string& metric, int bootstrap,
                                       uint64_t rng_seed) {
  std::vector<PairedPoint> out;
  auto pair_up = [&](const Point& m, const Point& ref) {
    PairedPoint pp;
    pp.model = m.key.model;
    pp.metric = metric;
    pp.method = m.key.method;
    pp.reference = ref.key.method;
    pp.method_point = m.key;
    pp.reference_point = ref.key;
    std::map<uint64_t, double> ref_by_seed;
    for (const RunRecord* r : ref.runs)
      if (r->metrics.count(metric)) ref_by_seed.emplace(r->seed, r->metrics.at(metric));
    std::set<uint64_t> used;
    for (const RunRecord* r : m.runs) {
      auto it = ref_by_seed.find(r->seed);
      if (it == ref_by_seed.end() || !r->metrics.count(metric) || !used.insert(r->seed).second) continue;
      const double d = r->metrics.at(metric) - it->second;
      pp.seeds.push_back(r->seed);
      pp.diffs.push_back(d);
      (std::abs(d) < 1e-9 ? pp.ties : d < 0 ? pp.lower : pp.higher) += 1;
    }
    if (pp.seeds.empty()) return;
    pp.diff = mean_interval(pp.diffs, bootstrap, rng_seed);
    out.push_back(std::move(pp));
  };
  for (const auto& m : points) {
    const auto ref = reference_of(m.key);
    if (!ref) continue;
    for (const auto& r : points)
      if (r.key.method == *ref && shares_hparams(m.key, r.key)) pair_up(m, r);
  }
  return out;
}

std::vector<PairedVerdict> paired_verdicts(const std::vector<PairedPoint>& pairs, int bootstrap, uint64_t rng_seed) {
  // Table order: model, metric, KD − NLL first (the baseline comparison), then the methods against KD.
  std::map<std::tuple<std::string, std::string, int, int, std::string, std::string, std::string>,
           std::vector<const PairedPoint*>>
      groups;
  for (const auto& p : pairs)
    groups[{p.model, p.metric, is_baseline_reference(p.reference) ? 0 : 1, method_rank(p.method),
            p.method_point.variant, p.method, p.reference}]
        .push_back(&p);
  std::vector<PairedVerdict> out;
  for (const auto& [key, pts] : groups) {
    PairedVerdict v;
    v.model = std::get<0>(key);
    v.metric = std::get<1>(key);
    v.variant = std::get<4>(key);
    v.method = std::get<5>(key);
    v.reference = std::get<6>(key);
    v.points = static_cast<int>(pts.size());
    // Seeds present at every point; each one's differences averaged over the points.
    std::set<uint64_t> common(pts[0]->seeds.begin(), pts[0]->seeds.end());
    for (const PairedPoint* p : pts) {
      std::set<uint64_t> s(p->seeds.begin(), p->seeds.end()), keep;
      std::set_intersection(common.begin(), common.end(), s.begin(), s.end(), std::inserter(keep, keep.begin()));
      common = keep;
    }
    std::vector<double> per_seed;
    for (uint64_t seed : common) {
      double sum = 0;
      for (const PairedPoint* p : pts)
        sum += p->diffs[static_cast<size_t>(std::find(p->seeds.begin(), p->seeds.end(), seed) - p->seeds.begin())];
      per_seed.push_back(sum / v.points);
    }
    v.seeds = static_cast<int>(common.size());
    v.diff = mean_interval(per_seed, bootstrap, rng_seed);
    v.min_lower = v.min_of = std::numeric_limits<int>::max();
    for (const PairedPoint* p : pts) {
      const int n = static_cast<int>(p->seeds.size());
      v.points_excluding_zero += p->diff.covers_zero() ? 0 : 1;
      if (!p->diff.covers_zero()) (p->diff.hi < 0 ? v.points_below : v.points_above) += 1;
      v.lower_runs += p->lower;
      v.runs += n;
      if (p->lower < v.min_lower || (p->lower == v.min_lower && n < v.min_of)) v.min_lower = p->lower, v.min_of = n;
      if (p->lower > v.max_lower || (p->lower == v.max_lower && n > v.max_of)) v.max_lower = p->lower, v.max_of = n;
    }

    v.sentence = verdict_sentence(v);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace hld::report
