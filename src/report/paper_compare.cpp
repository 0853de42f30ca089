// The report's section beside the paper's own tables (see hld/report/paper_compare.h).
#include "hld/report/paper_compare.h"

#include <sstream>

#include "hld/report/compare.h"
#include "hld/report/metrics.h"
#include "hld/report/paper_results.h"
#include "hld/report/tables.h"

namespace hld::report {
namespace {

// Markdown cell "ours / paper".
std::string pair_cell(const double* ours, const double* paper) { return fmt_metric(ours) + " / " + fmt_metric(paper); }

}  // namespace

PaperSection paper_section(const std::vector<Point>& ours, const std::string& model, const std::string& metric,
                           const Point* teacher, const std::string& size, int bootstrap, uint64_t seed) {
  PaperSection out;
  const std::vector<RunRecord> paper_records = paper_runs(size);
  const auto paper_pts = group_points(paper_records);
  const auto table2 = paper_table2(size);
  std::ostringstream md;
  md << "### Beside the paper (" << size << " student: Tables 2 and " << (size == "123m" ? "4" : "5") << ")\n\n";

  // Best per method: ours (by our selection metric) / the paper's Table 2.
  const auto ids = table2_metric_ids();
  Table best;
  best.header = {"Method"};
  for (const auto& id : ids) best.header.push_back(metric_spec(id).header + " (ours / paper)");
  auto paper_row = [&](const std::string& m) -> const PaperBestRow* {
    for (const auto& r : table2)
      if (r.method == m) return &r;
    return nullptr;
  };
  const auto ours_best = best_points(ours, metric);
  // The teacher, then every objective the paper reports, in the registry's order.
  std::vector<std::string> methods = {kTeacherMethod};
  for (const auto& s : spec::registry())
    if (paper_row(s.name)) methods.push_back(s.name);
  for (const auto& m : methods) {
    const Point* mine = nullptr;
    if (m == kTeacherMethod) mine = teacher;
    for (const Point* p : ours_best)
      if (p->key.method == m && p->key.variant.empty()) mine = p;
    const PaperBestRow* pr = paper_row(m);
    std::vector<std::string> row = {method_label(m)};
    for (const auto& id : ids) {
      const double* a = nullptr;
      if (mine && mine->mean.count(id)) a = &mine->mean.at(id);
      const double* b = pr && pr->metrics.count(id) ? &pr->metrics.at(id) : nullptr;
      row.push_back(pair_cell(a, b));
    }
    best.add(row);
  }
  md << "Best hyper-parameters per method (ours selected by "
     << (metric.empty() ? std::string("—") : metric_spec(metric).header) << "; paper: Table 2):\n\n"
     << best.markdown() << "\n";

  // Sign counts over the shared grid, ours vs the paper's own Table 4/5 rows.
  const auto ours_sum = summarize(pointwise(ours, metric.empty() ? "c4" : metric), bootstrap, seed);
  const auto paper_sum = summarize(pointwise(paper_pts, "c4"), bootstrap, seed);
  Table signs;
  signs.header = {"Comparison", "ours: method lower / n", "ours: mean Δ", "paper (C4): method lower / n",
                  "paper: mean Δ"};
  for (const auto& s : spec::registry()) {
    if (!s.reference || !paper_row(s.name)) continue;  // the paper's comparisons
    const std::string m = s.name, ref = spec::of(*s.reference).name;
    PointKey key;
    key.method = m;
    std::vector<std::string> row = {comparison_label(key, ref), "—", "—", "—", "—"};
    auto fill = [&](const std::vector<SignSummary>& sums, size_t at) {
      for (const auto& s : sums)
        if (s.method == m && s.reference == ref && s.variant.empty()) {
          row[at] = std::to_string(s.lower) + " / " + std::to_string(s.n);
          row[at + 1] = fmt("%+.4f", s.mean);
        }
    };
    fill(ours_sum, 1);
    fill(paper_sum, 3);
    signs.add(row);
  }
  md << "Sign counts at shared hyper-parameters (Δ as above):\n\n" << signs.markdown() << "\n";

  // Grid points present in both.
  Table pts;
  pts.header = {"Method", "η", "P1", "α", "τ", "γ", "C4 ours", "C4 paper", "ours − paper"};
  out.csv.header = {"model", "method", "lr", "p1", "alpha", "temperature", "gamma"};
  for (const auto& id : paper_metric_ids()) {
    out.csv.header.push_back(id + "_ours");
    out.csv.header.push_back(id + "_paper");
  }
  for (const auto& p : ours) {
    for (const auto& q : paper_pts) {
      PointKey a = p.key, b = q.key;
      b.model = a.model;
      if (!(a == b)) continue;
      const double* c4a = p.mean.count("c4") ? &p.mean.at("c4") : nullptr;
      const double* c4b = q.mean.count("c4") ? &q.mean.at("c4") : nullptr;
      const auto& k = p.key;
      auto hp = [](double v, bool applies) { return applies ? fmt_hparam(v) : std::string(); };
      const bool p1 = has_hparam(k.method, spec::kP1), alpha = has_hparam(k.method, spec::kAlpha),
                 tau = has_hparam(k.method, spec::kTemperature), gamma = has_hparam(k.method, spec::kGamma);
      pts.add({point_label(k), fmt_hparam(k.lr), hp(k.p1, p1), hp(k.alpha, alpha), hp(k.temperature, tau),
               hp(k.gamma, gamma), fmt_metric(c4a), fmt_metric(c4b), c4a && c4b ? fmt("%+.3f", *c4a - *c4b) : "—"});
      std::vector<std::string> row = {model,
                                      k.method,
                                      fmt_hparam(k.lr),
                                      hp(k.p1, p1),
                                      hp(k.alpha, alpha),
                                      hp(k.temperature, tau),
                                      hp(k.gamma, gamma)};
      for (const auto& id : paper_metric_ids()) {
        row.push_back(p.mean.count(id) ? fmt("%.6g", p.mean.at(id)) : "");
        row.push_back(q.mean.count(id) ? fmt("%.6g", q.mean.at(id)) : "");
      }
      out.csv.add(row);
    }
  }
  md << "Grid points present in both (" << pts.rows.size() << " of the paper's " << paper_pts.size() << "):\n\n"
     << pts.markdown() << "\n";
  out.markdown = md.str();
  return out;
}

}  // namespace hld::report
