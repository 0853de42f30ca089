// Pointwise comparisons in the report's Δ convention, sign test and bootstrap interval (see
// hld/report/compare.h).
#include "hld/report/compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include "hld/report/metrics.h"

namespace hld::report {
namespace {

Comparison make(const Point& m, const Point& ref, const std::string& metric) {
  Comparison c;
  c.model = m.key.model;
  c.metric = metric;
  c.method = m.key.method;
  c.reference = ref.key.method;
  c.method_point = m.key;
  c.reference_point = ref.key;
  c.value = m.mean.at(metric);
  c.reference_value = ref.mean.at(metric);
  c.delta = c.value - c.reference_value;
  return c;
}

}  // namespace

std::vector<Comparison> pointwise(const std::vector<Point>& points, const std::string& metric) {
  std::vector<Comparison> out;
  // Each point against its reference's point at the shared hyper-parameters: KD against NLL at its
  // η (NLL has no α, τ of its own), the others and KD's variants against the paper's KD.
  for (const auto& m : points) {
    const auto ref = reference_of(m.key);
    if (!ref || !m.mean.count(metric)) continue;
    for (const auto& r : points)
      if (r.key.method == *ref && r.mean.count(metric) && shares_hparams(m.key, r.key))
        out.push_back(make(m, r, metric));
  }
  return out;
}

std::string comparison_label(const PointKey& method_point, const std::string& reference) {
  return point_label(method_point) + " \xe2\x88\x92 " + method_label(reference);
}

double sign_test_p(int a, int b) {
  const int n = a + b;
  if (n == 0) return 1.0;
  const int k = std::min(a, b);
  // P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space.
  double tail = 0;
  for (int i = 0; i <= k; ++i)
    tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - n * std::log(2.0));
  return std::min(1.0, 2.0 * tail);
}

std::vector<SignSummary> summarize(const std::vector<Comparison>& comps, int bootstrap, uint64_t rng_seed,
                                   double level) {
  // Grouped in table order: model, metric (Tables 4/5 column order), method (KD against NLL first).
  auto metric_index = [](const std::string& id) {
    const auto& t = metric_table();
    for (size_t i = 0; i < t.size(); ++i)
      if (t[i].id == id) return static_cast<int>(i);
    return static_cast<int>(t.size());
  };
  std::map<std::tuple<std::string, int, std::string, int, std::string, std::string, std::string>, std::vector<double>>
      groups;
  for (const auto& c : comps)
    groups[{c.model, metric_index(c.metric), c.metric, method_rank(c.method), c.method, c.method_point.variant,
            c.reference}]
        .push_back(c.delta);
  std::vector<SignSummary> out;
  for (auto& [key, xs] : groups) {
    SignSummary s;
    s.model = std::get<0>(key);
    s.metric = std::get<2>(key);
    s.method = std::get<4>(key);
    s.variant = std::get<5>(key);
    s.reference = std::get<6>(key);
    s.n = static_cast<int>(xs.size());
    double sum = 0;
    for (double x : xs) {
      // Differences below the tables' printed precision count as ties.
      if (std::abs(x) < 1e-9)
        ++s.ties;
      else if (x < 0)
        ++s.lower;
      else
        ++s.higher;
      sum += x;
    }
    s.mean = sum / s.n;
    std::vector<double> sorted = xs;
    std::sort(sorted.begin(), sorted.end());
    s.median = s.n % 2 ? sorted[s.n / 2] : 0.5 * (sorted[s.n / 2 - 1] + sorted[s.n / 2]);
    s.sign_p = sign_test_p(s.lower, s.higher);

    std::mt19937_64 rng(rng_seed);
    std::uniform_int_distribution<size_t> pick(0, xs.size() - 1);
    const int b = std::max(1, bootstrap);
    std::vector<double> means(static_cast<size_t>(b));
    for (int i = 0; i < b; ++i) {
      double m = 0;
      for (size_t j = 0; j < xs.size(); ++j) m += xs[pick(rng)];
      means[static_cast<size_t>(i)] = m / static_cast<double>(xs.size());
    }
    std::sort(means.begin(), means.end());
    const double a = (1.0 - level) / 2.0;
    auto quantile = [&](double q) {
      const double pos = q * (b - 1);
      const auto lo = static_cast<size_t>(std::floor(pos));
      const size_t hi = std::min(lo + 1, means.size() - 1);
      return means[lo] + (pos - lo) * (means[hi] - means[lo]);
    };
    s.ci_lo = quantile(a);
    s.ci_hi = quantile(1.0 - a);
    out.push_back(s);
  }
  return out;
}

}  // namespace hld::report
