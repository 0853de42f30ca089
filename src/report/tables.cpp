// Paper-layout tables from hyper-parameter points (see hld/report/tables.h).
#include "hld/report/tables.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "hld/report/metrics.h"
#include "hld/report/paper_results.h"

namespace hld::report {
namespace {

const double* metric_of(const Point& p, const std::string& id) {
  auto it = p.mean.find(id);
  return it == p.mean.end() ? nullptr : &it->second;
}

std::string metric_cell(const double* v, bool precise) {
  if (!v) return precise ? "" : "—";
  return precise ? fmt("%.6g", *v) : fmt_metric(v);
}

std::string flops_cell(const std::optional<double>& f, bool precise) {
  if (!f) return precise ? "" : "—";
  return fmt(precise ? "%.10g" : "%.4e", *f);
}

bool has(const std::string& method, const char* hp) {
  const std::string h = hp;
  if (h == "lr") return spec::find(method) != nullptr;
  if (h == "alpha") return has_hparam(method, spec::kAlpha);
  if (h == "temperature") return has_hparam(method, spec::kTemperature);
  if (h == "gamma") return has_hparam(method, spec::kGamma);
  if (h == "p1") return has_hparam(method, spec::kP1);
  return false;
}

std::string hp_cell(const PointKey& k, const char* hp, double v) { return has(k.method, hp) ? fmt_hparam(v) : ""; }

// "− − +": per-seed signs of Δ, in seed order.
std::string signs(const PairedPoint& p) {
  std::string out;
  for (double d : p.diffs) out += std::string(out.empty() ? "" : " ") + (std::abs(d) < 1e-9 ? "0" : d < 0 ? "−" : "+");
  return out;
}

}  // namespace

std::vector<std::string> models_of(const std::vector<Point>& points) {
  std::set<std::string> s;
  for (const auto& p : points) s.insert(p.key.model);
  return {s.begin(), s.end()};
}

std::vector<Point> points_of(const std::vector<Point>& points, const std::string& model) {
  std::vector<Point> out;
  for (const auto& p : points)
    if (p.key.model == model) out.push_back(p);
  return out;
}

// The paper's metric columns, then "valid" when a run has it. The Markdown tables (precise=false)
// drop columns no run evaluated (a quickstart measures only Valid); the CSVs keep the fixed layout.
std::vector<std::string> shown_metrics(const std::vector<Point>& points, bool table2_order, bool precise) {
  auto measured = [&](const std::string& id) {
    return std::any_of(points.begin(), points.end(), [&](const Point& p) { return p.mean.count(id) > 0; });
  };
  std::vector<std::string> ids;
  for (const auto& id : table2_order ? table2_metric_ids() : paper_metric_ids())
    if (precise || measured(id)) ids.push_back(id);
  if (measured("valid")) ids.push_back("valid");
  return ids;
}

std::string selection_metric(const std::vector<Point>& points) {
  for (const char* id : {"c4", "valid"})
    for (const auto& p : points)
      if (p.key.method != "teacher" && p.mean.count(id)) return id;
  return "";
}

std::vector<const Point*> best_points(const std::vector<Point>& points, const std::string& metric) {
  std::vector<const Point*> out;
  if (metric.empty()) return out;
  std::vector<std::string> order = {metric};
  for (const auto& id : table2_metric_ids())
    if (id != metric) order.push_back(id);
  // One best point per method and variant (the paper's first), in table order.
  std::vector<std::pair<std::string, std::string>> kinds;
  for (const auto& objective : spec::registry())
    for (const auto& p : points)
      if (p.key.method == objective.name &&
          std::find(kinds.begin(), kinds.end(), std::pair{p.key.method, p.key.variant}) == kinds.end())
        kinds.emplace_back(p.key.method, p.key.variant);
  std::stable_sort(kinds.begin(), kinds.end(), [](const auto& a, const auto& b) {
    return method_rank(a.first) != method_rank(b.first) ? method_rank(a.first) < method_rank(b.first)
                                                        : a.second.empty() && !b.second.empty();
  });
  for (const auto& [method, variant] : kinds) {
    const Point* best = nullptr;
    for (const auto& p : points) {
      if (p.key.method != method || p.key.variant != variant || !p.mean.count(metric)) continue;
      if (!best) {
        best = &p;
        continue;
      }
      bool better = false, decided = false;
      for (const auto& id : order) {
        const double* a = metric_of(p, id);
        const double* b = metric_of(*best, id);
        if (!a || !b || *a == *b) continue;
        better = *a < *b;
        decided = true;
        break;
      }
      if (decided && better) best = &p;  // undecided: keep the earlier point in grid order
    }
    if (best) out.push_back(best);
  }
  return out;
}

Table runs_table(const std::vector<Point>& points, bool precise) {
  const auto metrics = shown_metrics(points, false, precise);
  const bool seeds = std::any_of(points.begin(), points.end(), [](const Point& p) { return p.runs.size() > 1; });
  Table t;
  t.header = {"Method", "η", "P1", "α", "τ", "γ"};
  if (precise) t.header = {"model", "method", "lr", "p1", "alpha", "temperature", "gamma"};
  for (const auto& id : metrics) t.header.push_back(precise ? id : metric_spec(id).header);
  if (seeds || precise) t.header.push_back(precise ? "seeds" : "Seeds");
  t.header.push_back(precise ? "flops" : "FLOPs");
  if (precise) t.header.push_back("dirs");
  for (const auto& p : points) {
    if (p.key.method == "teacher") continue;
    const auto& k = p.key;
    std::vector<std::string> row;
    if (precise)
      row = {k.model, point_id(k)};
    else
      row = {point_label(k)};
    for (auto [hp, v] : {std::pair<const char*, double>{"lr", k.lr},
                         {"p1", k.p1},
                         {"alpha", k.alpha},
                         {"temperature", k.temperature},
                         {"gamma", k.gamma}})
      row.push_back(hp_cell(k, hp, v));
    for (const auto& id : metrics) row.push_back(metric_cell(metric_of(p, id), precise));
    if (seeds || precise) row.push_back(std::to_string(p.runs.size()));
    row.push_back(flops_cell(p.flops, precise));
    if (precise) {
      std::string dirs;
      for (const RunRecord* r : p.runs) dirs += (dirs.empty() ? "" : ";") + r->dir;
      row.push_back(dirs);
    }
    t.add(row);
  }
  return t;
}

std::string describe_point(const PointKey& k) {
  std::string s;
  auto add = [&](const char* label, const char* hp, double v) {
    if (!has(k.method, hp)) return;
    s += (s.empty() ? "" : ", ") + std::string(label) + " " + fmt_hparam(v);
  };
  add("η", "lr", k.lr);
  add("α", "alpha", k.alpha);
  add("τ", "temperature", k.temperature);
  add("γ", "gamma", k.gamma);
  add("P1", "p1", k.p1);
  return s;
}

Table best_table(const std::vector<Point>& points, const std::string& metric, const Point* teacher, bool precise) {
  const auto metrics = shown_metrics(points, true, precise);
  const auto best = best_points(points, metric);
  Table t;
  if (precise)
    t.header = {"method"};
  else
    t.header = {"Method"};
  for (const auto& id : metrics) t.header.push_back(precise ? id : metric_spec(id).header);
  if (precise) {
    for (const char* h : {"lr", "alpha", "temperature", "gamma", "p1", "seeds", "flops"}) t.header.push_back(h);
  } else {
    t.header.push_back("best point (by " + (metric.empty() ? std::string("—") : metric_spec(metric).header) + ")");
    t.header.push_back("FLOPs");
  }

  // Random guessing (task properties, from the paper's Table 2).
  for (const auto& row : paper_table2("123m")) {
    if (row.method != "random") continue;
    std::vector<std::string> r = {precise ? "random" : "Random"};
    bool any = false;
    for (const auto& id : metrics) {
      auto it = row.metrics.find(id);
      any |= it != row.metrics.end();
      r.push_back(it == row.metrics.end() ? (precise ? "" : "—") : fmt(precise ? "%.6g" : "%.3f", it->second));
    }
    if (any || precise) t.add(r);
  }
  auto point_row = [&](const Point& p, const std::string& label) {
    std::vector<std::string> r = {label};
    for (const auto& id : metrics) r.push_back(metric_cell(metric_of(p, id), precise));
    if (precise) {
      const auto& k = p.key;
      for (auto [hp, v] : {std::pair<const char*, double>{"lr", k.lr},
                           {"alpha", k.alpha},
                           {"temperature", k.temperature},
                           {"gamma", k.gamma},
                           {"p1", k.p1}})
        r.push_back(hp_cell(k, hp, v));
      r.push_back(std::to_string(p.runs.size()));
    } else {
      r.push_back(describe_point(p.key) + (p.runs.size() > 1 ? " (" + std::to_string(p.runs.size()) + " seeds)" : ""));
    }
    r.push_back(flops_cell(p.flops, precise));
    return r;
  };
  if (teacher) t.add(point_row(*teacher, precise ? "teacher" : "Teacher"));
  const size_t first_student = t.rows.size();
  for (const Point* p : best) t.add(point_row(*p, precise ? point_id(p->key) : point_label(p->key)));

  if (!precise) {  // bold the best student value of each metric column
    for (size_t c = 0; c < metrics.size(); ++c) {
      double lo = 0;
      bool any = false;
      for (const Point* p : best)
        if (const double* v = metric_of(*p, metrics[c])) {
          // compare at printed precision, as the paper does
          const double shown = std::stod(fmt("%.3f", *v));
          if (!any || shown < lo) lo = shown;
          any = true;
        }
      for (size_t i = 0; i < best.size(); ++i)
        if (const double* v = metric_of(*best[i], metrics[c]))
          if (std::stod(fmt("%.3f", *v)) == lo) t.bold[first_student + i][c + 1] = true;
    }
  }
  return t;
}

Table pointwise_table(const std::vector<Comparison>& comps, bool precise) {
  Table t;
  if (precise)
    t.header = {"model", "metric", "method", "reference",       "lr",   "alpha", "temperature",
                "gamma", "p1",     "value",  "reference_value", "delta"};
  else
    t.header = {"Comparison", "η", "α", "τ", "γ", "P1", "Method", "Reference", "Δ"};
  for (const auto& c : comps) {
    const auto& k = c.method_point;
    // The point of the pair that has α and τ names them (NLL has none of its own).
    const PointKey& kd = has_hparam(c.reference, spec::kAlpha) ? c.reference_point : c.method_point;
    std::vector<std::string> r;
    if (precise)
      r = {c.model, c.metric, point_id(c.method_point), point_id(c.reference_point)};
    else
      r = {comparison_label(c.method_point, c.reference)};
    r.push_back(fmt_hparam(k.lr));
    r.push_back(fmt_hparam(kd.alpha));
    r.push_back(fmt_hparam(kd.temperature));
    r.push_back(hp_cell(k, "gamma", k.gamma));
    r.push_back(hp_cell(k, "p1", k.p1));
    r.push_back(fmt(precise ? "%.6g" : "%.3f", c.value));
    r.push_back(fmt(precise ? "%.6g" : "%.3f", c.reference_value));
    r.push_back(fmt(precise ? "%.6g" : "%+.3f", c.delta));
    t.add(r);
  }
  return t;
}

Table summary_table(const std::vector<SignSummary>& sums, bool precise) {
  Table t;
  if (precise)
    t.header = {"model", "metric", "method", "reference", "n",     "lower", "higher",
                "ties",  "mean",   "median", "sign_p",    "ci_lo", "ci_hi"};
  else
    t.header = {"Model",
                "Metric",
                "Comparison",
                "n",
                "method lower",
                "higher",
                "ties",
                "mean Δ",
                "median Δ",
                "sign test p",
                "95 % bootstrap interval of the mean Δ"};
  for (const auto& s : sums) {
    const PointKey k{s.model, s.method, s.variant};
    std::vector<std::string> r = {s.model, precise ? s.metric : metric_spec(s.metric).header};
    if (precise) {
      r.push_back(point_id(k));
      r.push_back(s.reference);
    } else {
      r.push_back(comparison_label(k, s.reference));
    }
    for (int v : {s.n, s.lower, s.higher, s.ties}) r.push_back(std::to_string(v));
    if (precise) {
      for (double v : {s.mean, s.median, s.sign_p, s.ci_lo, s.ci_hi}) r.push_back(fmt("%.6g", v));
    } else {
      r.push_back(fmt("%+.4f", s.mean));
      r.push_back(fmt("%+.4f", s.median));
      r.push_back(fmt("%.3g", s.sign_p));
      r.push_back("[" + fmt("%+.4f", s.ci_lo) + ", " + fmt("%+.4f", s.ci_hi) + "]");
    }
    t.add(r);
  }
  return t;
}

Table paired_table(const std::vector<PairedPoint>& pairs, bool precise) {
  Table t;
  t.header = {"Comparison", "Point", "Metric", "Seeds", "Mean Δ", "95 % interval", "Interval", "Per-seed signs of Δ"};
  if (precise)
    t.header = {"model", "metric", "method",   "reference", "point",  "seeds", "n",    "mean_diff",
                "ci_lo", "ci_hi",  "interval", "lower",     "higher", "ties",  "diffs"};
  for (const auto& p : pairs) {
    std::string seeds, diffs;
    for (size_t i = 0; i < p.seeds.size(); ++i) {
      seeds += (i ? " " : "") + std::to_string(p.seeds[i]);
      diffs += (i ? " " : "") + fmt("%.6g", p.diffs[i]);
    }
    const bool has_interval = p.diff.kind != "none";
    if (precise)
      t.add({p.model, p.metric, point_id(p.method_point), p.reference, describe_point(p.method_point), seeds,
             std::to_string(p.diff.n), fmt("%.6g", p.diff.mean), has_interval ? fmt("%.6g", p.diff.lo) : "",
             has_interval ? fmt("%.6g", p.diff.hi) : "", p.diff.kind, std::to_string(p.lower), std::to_string(p.higher),
             std::to_string(p.ties), diffs});
    else
      t.add({comparison_label(p.method_point, p.reference), describe_point(p.method_point),
             metric_spec(p.metric).header, std::to_string(p.diff.n), fmt("%+.4f", p.diff.mean),
             has_interval ? "[" + fmt("%+.4f", p.diff.lo) + ", " + fmt("%+.4f", p.diff.hi) + "]" : "— (one seed)",
             p.diff.kind == "t" ? "Student t" : p.diff.kind, signs(p)});
  }
  return t;
}

}  // namespace hld::report
