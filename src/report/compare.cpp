// Pointwise improvement over KD, sign test and bootstrap interval (see hld/report/compare.h).
#include "hld/report/compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include "hld/report/metrics.h"

namespace hld::report {
namespace {

// NLL, HLDC and HLDF points, and KD variants, are compared with the paper's KD.
bool is_compared(const PointKey& k) {
  return k.method == "nll" || k.method == "hldc" || k.method == "hldf" || (k.method == "kd" && !k.variant.empty());
}

}  // namespace

std::vector<Comparison> pointwise(const std::vector<Point>& points, const std::string& metric) {
  std::vector<Comparison> out;
  for (const auto& kd : points) {
    if (kd.key.method != "kd" || !kd.key.variant.empty() || !kd.mean.count(metric)) continue;
    for (const auto& m : points) {
      if (!is_compared(m.key) || !m.mean.count(metric) || !shares_hparams(m.key, kd.key)) continue;
      Comparison c;
      c.model = m.key.model;
      c.metric = metric;
      c.method = m.key.method;
      c.method_point = m.key;
      c.kd_point = kd.key;
      c.kd = kd.mean.at(metric);
      c.value = m.mean.at(metric);
      c.improvement = c.kd - c.value;
      out.push_back(c);
    }
  }
  return out;
}

double sign_test_p(int wins, int losses) {
  const int n = wins + losses;
  if (n == 0) return 1.0;
  const int k = std::min(wins, losses);
  // P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space.
  double tail = 0;
  for (int i = 0; i <= k; ++i)
    tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - n * std::log(2.0));
  return std::min(1.0, 2.0 * tail);
}

std::vector<SignSummary> summarize(const std::vector<Comparison>& comps, int bootstrap, uint64_t rng_seed,
                                   double level) {
  // Grouped in table order: model, metric (Tables 4/5 column order), method.
  auto metric_index = [](const std::string& id) {
    const auto& t = metric_table();
    for (size_t i = 0; i < t.size(); ++i)
      if (t[i].id == id) return static_cast<int>(i);
    return static_cast<int>(t.size());
  };
  std::map<std::tuple<std::string, int, std::string, int, std::string, std::string>, std::vector<double>> groups;
  for (const auto& c : comps)
    groups[{c.model, metric_index(c.metric), c.metric, method_rank(c.method), c.method, c.method_point.variant}]
        .push_back(c.improvement);
  std::vector<SignSummary> out;
  for (auto& [key, xs] : groups) {
    SignSummary s;
    s.model = std::get<0>(key);
    s.metric = std::get<2>(key);
    s.method = std::get<4>(key);
    s.variant = std::get<5>(key);
    s.n = static_cast<int>(xs.size());
    double sum = 0;
    for (double x : xs) {
      // Differences below the tables' printed precision count as ties.
      if (std::abs(x) < 1e-9)
        ++s.ties;
      else if (x > 0)
        ++s.wins;
      else
        ++s.losses;
      sum += x;
    }
    s.mean = sum / s.n;
    std::vector<double> sorted = xs;
    std::sort(sorted.begin(), sorted.end());
    s.median = s.n % 2 ? sorted[s.n / 2] : 0.5 * (sorted[s.n / 2 - 1] + sorted[s.n / 2]);
    s.sign_p = sign_test_p(s.wins, s.losses);

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
