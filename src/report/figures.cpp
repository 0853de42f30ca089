// gnuplot figures of the pointwise comparisons: Δ histogram and value scatter per model and
// metric (see hld/report/figures.h).
#include "hld/report/figures.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "hld/report/paired.h"
#include "hld/report/runs.h"
#include "hld/report/table.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::report {
namespace {

// A "nice" bin width (1, 2 or 5 × 10^k) giving about `target` bins over `range`.
double nice_width(double range, int target) {
  if (!(range > 0)) return 1e-3;
  const double raw = range / target;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

// What an axis measures: "held-out loss (nats)", "HSwag error (1 − accuracy)".
std::string quantity(const std::string& metric) {
  const std::string unit = metric_unit(metric);
  return metric_phrase(metric) + (unit.empty() ? " (1 \xe2\x88\x92 accuracy)" : " (" + unit + ")");
}

// One comparison group of a figure: a method (with its reference) and its pairs.
struct Group {
  std::string method, reference;
  std::vector<const Comparison*> pairs;
};

// The groups of the methods in `cs`, in table order (KD − NLL, HLDC − KD, HLDF − KD, …).
std::vector<Group> groups_of(const std::vector<const Comparison*>& cs) {
  std::vector<Group> out;
  for (const auto& s : spec::registry()) {
    if (!s.reference) continue;
    const std::string m = s.name;
    Group g{m, spec::of(*s.reference).name, {}};
    for (const auto* c : cs)
      if (c->method == m) g.pairs.push_back(c);
    if (!g.pairs.empty()) out.push_back(std::move(g));
  }
  return out;
}

// Histogram of Δ (paper Figures 2–4, mirrored): the HLD methods against KD, or KD against NLL when
// there is no HLD method (NLL's gaps are an order of magnitude wider and would flatten the bins).
// Bins are centred on multiples of the width, so that exact ties land in the bin at 0.
std::string histogram(const std::string& dir, const std::string& base, const std::string& model,
                      const std::string& metric, std::vector<Group> groups, const std::string& gnuplot) {
  if (groups.size() > 1 && is_baseline_reference(groups[0].reference)) groups.erase(groups.begin());
  const std::string ref = method_label(groups[0].reference);
  // "method" when the bars are several methods against KD, "KD" when they are KD against NLL.
  const bool baseline = is_baseline_reference(groups[0].reference);
  const std::string who = baseline ? method_label(groups[0].method) : "the method";
  double lo = 0, hi = 0;
  for (const auto& g : groups)
    for (const auto* c : g.pairs) lo = std::min(lo, c->delta), hi = std::max(hi, c->delta);
  const double w = nice_width(hi - lo, 16);
  const long b0 = std::lround(lo / w), b1 = std::lround(hi / w);
  std::map<long, std::vector<int>> counts;
  int most = 0;
  for (size_t gi = 0; gi < groups.size(); ++gi)
    for (const auto* c : groups[gi].pairs) {
      auto& row = counts[std::lround(c->delta / w)];
      row.resize(groups.size());
      most = std::max(most, ++row[gi]);
    }
  std::ostringstream dat;
  dat << "# bin_center, then per comparison the number of hyper-parameter points whose " << one_line(model) << " "
      << metric << " Δ falls in the bin:";
  for (const auto& g : groups) dat << " " << g.method << "-" << g.reference;
  dat << "\n";
  for (long b = b0; b <= b1; ++b) {
    dat << fmt("%.9g", b * w);
    for (size_t gi = 0; gi < groups.size(); ++gi) dat << " " << (counts.count(b) ? counts[b][gi] : 0);
    dat << "\n";
  }
  util::write_file_atomic((fs::path(dir) / (base + ".dat")).string(), dat.str());

  std::ostringstream gp;
  gp << "# " << one_line(model) << ", " << metric << ": histogram of Δ; written by `hld-train report`.\n"
     << gp_open_png(gnuplot, kComparisonFigure, base + ".png") << "set title "
     << gp_string(model + ": " + metric_phrase(metric) + ", Δ at each shared hyper-parameter point") << "\nset xlabel "
     << gp_string("Δ = " + (baseline ? method_label(groups[0].method) : std::string("method")) + " \xe2\x88\x92 " +
                  ref + ", " + quantity(metric) + "     (Δ < 0: " + who + " beats " + ref + ")")
     << "\nset ylabel 'hyper-parameter points'\n"
     << "set style fill transparent solid 0.45 border\nset grid ytics\n"
     << "set key outside right top vertical Left reverse\n"  // beside the plot: it hides no bar
     << (most <= 12 ? "set ytics 1\n" : "") << "set yrange [0:" << most + 1 << "]\n"
     << "set xrange [" << fmt("%.9g", (b0 - 1) * w) << ":" << fmt("%.9g", (b1 + 1) * w) << "]\n"
     << "set boxwidth " << fmt("%.9g", w / groups.size()) << " absolute\n"
     << "set arrow 1 from 0, graph 0 to 0, graph 1 nohead dt 2 lw 1.5 lc rgb 'black'\nplot ";
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const auto& g = groups[gi];
    const double offset = (static_cast<double>(gi) - 0.5 * (groups.size() - 1)) * w / groups.size();
    const std::string title = comparison_label(g.pairs[0]->method_point, g.reference) + " (" +
                              std::to_string(g.pairs.size()) + (g.pairs.size() == 1 ? " point)" : " points)");
    gp << (gi ? ", " : "") << gp_string(base + ".dat") << " using ($1+(" << fmt("%.9g", offset) << ")):" << gi + 2
       << " with boxes lc rgb " << gp_string(method_color(g.method)) << " title " << gp_string(title);
  }
  gp << ", NaN with lines dt 2 lw 1.5 lc rgb 'black' title " << gp_string("Δ = 0: same as " + ref) << "\n";
  return gp.str();
}

// Each method's value against KD's at the same point (paper Figures 5–7): x = KD, y = the method.
std::string scatter(const std::string& dir, const std::string& base, const std::string& model,
                    const std::string& metric, const std::vector<Group>& groups, const std::string& gnuplot) {
  std::ostringstream dat;
  std::vector<std::pair<std::string, int>> series;  // method, points
  double lo = 0, hi = 0;
  bool first = true;
  for (const auto& g : groups) {
    // KD − NLL pairs are drawn as NLL's value against KD's, like every other method.
    const bool flip = is_baseline_reference(g.reference);
    const std::string shown = flip ? g.reference : g.method;
    dat << (series.empty() ? "" : "\n\n") << "# " << shown << " against KD (" << one_line(model) << ", " << metric
        << "): kd value\n";
    for (const auto* c : g.pairs) {
      const double kd = flip ? c->value : c->reference_value;
      const double v = flip ? c->reference_value : c->value;
      dat << fmt("%.9g", kd) << " " << fmt("%.9g", v) << "\n";
      lo = first ? std::min(kd, v) : std::min({lo, kd, v});
      hi = first ? std::max(kd, v) : std::max({hi, kd, v});
      first = false;
    }
    series.emplace_back(shown, static_cast<int>(g.pairs.size()));
  }
  util::write_file_atomic((fs::path(dir) / (base + ".dat")).string(), dat.str());
  const double pad = std::max((hi - lo) * 0.06, 1e-3);
  std::string ylabel;
  for (const auto& [m, n] : series) ylabel += (ylabel.empty() ? "" : ", ") + method_label(m);

  std::ostringstream gp;
  gp << "# " << one_line(model) << ", " << metric << ": each method against KD; written by `hld-train report`.\n"
     << gp_open_png(gnuplot, kComparisonFigure, base + ".png")
     // The title centred on the figure, not on the square plot beside the legend, so that a long
     // model name does not run off the left edge.
     << "set tmargin 3\nset label 100 "
     << gp_string(model + ": " + metric_phrase(metric) + ", each method against KD at the same point")
     << " at screen 0.5, screen 0.96 center"
     << "\nset xlabel " << gp_string("KD: " + quantity(metric)) << "\nset ylabel "
     << gp_string(ylabel + ": " + quantity(metric))
     // A square plot leaves room at its right for the legend.
     << "\nset size square\nset grid\nset key outside right center vertical Left reverse\n"
     << "set xrange [" << fmt("%.9g", lo - pad) << ":" << fmt("%.9g", hi + pad) << "]\n"
     << "set yrange [" << fmt("%.9g", lo - pad) << ":" << fmt("%.9g", hi + pad) << "]\n"
     << "plot x with lines dt 2 lw 1.5 lc rgb 'black' title 'y = x: same as KD', "
        "NaN with dots lc rgb 'white' title 'below it: lower than KD (better)'";
  for (size_t i = 0; i < series.size(); ++i)
    gp << ", " << gp_string(base + ".dat") << " index " << i << " using 1:2 with points pt 7 ps 1.4 lc rgb "
       << gp_string(method_color(series[i].first)) << " title "
       << gp_string(method_label(series[i].first) + " (" + std::to_string(series[i].second) +
                    (series[i].second == 1 ? " point)" : " points)"));
  gp << "\n";
  return gp.str();
}

}  // namespace

FigureSet write_figures(const std::vector<Comparison>& comps, const std::string& dir, const std::string& gnuplot) {
  std::map<std::pair<std::string, std::string>, std::vector<const Comparison*>> by_panel;
  for (const auto& c : comps)
    if (c.method_point.variant.empty()) by_panel[{c.model, c.metric}].push_back(&c);  // the paper's methods
  FigureSet out;
  if (by_panel.empty()) return out;
  fs::create_directories(dir);
  for (const auto& [key, cs] : by_panel) {
    const auto& [model, metric] = key;
    const auto groups = groups_of(cs);
    if (groups.empty()) continue;
    const std::string base = safe_name(model) + "_" + safe_name(metric);
    out.add(draw_figure(dir, base + "_hist", histogram(dir, base + "_hist", model, metric, groups, gnuplot), gnuplot));
    out.add(
        draw_figure(dir, base + "_scatter", scatter(dir, base + "_scatter", model, metric, groups, gnuplot), gnuplot));
  }
  return out;
}

}  // namespace hld::report
