// gnuplot figures of the pointwise comparison with KD (see hld/report/figures.h).
#include "hld/report/figures.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "hld/report/metrics.h"
#include "hld/report/runs.h"
#include "hld/report/table.h"
#include "hld/report/tables.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::report {
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

const char* kMethods[] = {"nll", "hldc", "hldf"};
const char* kColors[] = {"#7f7f7f", "#1f77b4", "#2ca02c"};

// A "nice" bin width (1, 2 or 5 × 10^k) giving about `target` bins over `range`.
double nice_width(double range, int target) {
  if (!(range > 0)) return 1e-3;
  const double raw = range / target;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

// The PNG terminal line: pngcairo when this gnuplot has it, else the plain png terminal.
std::string terminal_line(const std::string& gnuplot, int w, int h) {
  const std::string size = " size " + std::to_string(w) + "," + std::to_string(h);
  return std::system((shell_quote(gnuplot) + " -e 'set terminal pngcairo' >/dev/null 2>&1").c_str()) == 0
             ? "set terminal pngcairo" + size + " noenhanced font ',11'\n"
             : "set terminal png" + size + " noenhanced\n";
}

}  // namespace

std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  return out.empty() ? "_" : out;
}

bool gnuplot_available(const std::string& gnuplot) {
  return std::system((shell_quote(gnuplot) + " --version >/dev/null 2>&1").c_str()) == 0;
}

std::vector<std::string> write_figures(const std::vector<Comparison>& comps, const std::string& dir,
                                       const std::string& gnuplot) {
  fs::create_directories(dir);
  std::map<std::pair<std::string, std::string>, std::vector<const Comparison*>> groups;
  for (const auto& c : comps)
    if (c.method_point.variant.empty()) groups[{c.model, c.metric}].push_back(&c);  // the paper's methods

  std::ostringstream gp;
  gp << "# gnuplot script written by `hld-train report`; run it in this folder to redraw.\n"
     << terminal_line(gnuplot, 900, 600)
     << "set style fill transparent solid 0.45 border\n"
     << "set grid\nset key top left\n";
  std::vector<std::string> expected;
  for (const auto& [key, cs] : groups) {
    const auto& [model, metric] = key;
    const std::string base = safe_name(model) + "_" + safe_name(metric);
    const std::string header = metric_spec(metric).header;

    // Histogram of improvements, shared bins for all methods.
    // Histogram of improvements (paper Figures 2–4): the HLD methods, with NLL only when it is
    // the only method (its gaps are an order of magnitude wider and would flatten the bins).
    // Bins are centred on multiples of the width, so that exact ties land in the bin at 0.
    std::vector<int> shown;
    for (int mi = 1; mi < 3; ++mi)
      if (std::any_of(cs.begin(), cs.end(), [&](const Comparison* c) { return c->method == kMethods[mi]; }))
        shown.push_back(mi);
    if (shown.empty()) shown.push_back(0);
    double lo = 0, hi = 0;
    for (const auto* c : cs)
      for (int mi : shown)
        if (c->method == kMethods[mi]) {
          lo = std::min(lo, c->improvement);
          hi = std::max(hi, c->improvement);
        }
    const double w = nice_width(hi - lo, 16);
    const auto b0 = std::lround(lo / w), b1 = std::lround(hi / w);
    std::map<long, std::map<std::string, int>> counts;
    for (const auto* c : cs) counts[std::lround(c->improvement / w)][c->method] += 1;
    std::ostringstream hist;
    hist << "# bin_center nll hldc hldf (counts of pointwise improvement over KD, " << header << ")\n";
    for (long b = b0; b <= b1; ++b) {
      hist << fmt("%.9g", b * w);
      for (const char* m : kMethods) hist << " " << counts[b][m];
      hist << "\n";
    }
    util::write_file_atomic((fs::path(dir) / (base + "_hist.dat")).string(), hist.str());

    std::ostringstream sc;
    sc << "# method_index kd value (0 nll, 1 hldc, 2 hldf; " << header << ")\n";
    double vlo = cs.front()->kd, vhi = vlo;
    for (int mi = 0; mi < 3; ++mi) {
      for (const auto* c : cs) {
        if (c->method != kMethods[mi]) continue;
        sc << mi << " " << fmt("%.9g", c->kd) << " " << fmt("%.9g", c->value) << "\n";
        vlo = std::min({vlo, c->kd, c->value});
        vhi = std::max({vhi, c->kd, c->value});
      }
    }
    util::write_file_atomic((fs::path(dir) / (base + "_scatter.dat")).string(), sc.str());
    const double pad = std::max((vhi - vlo) * 0.05, 1e-3);

    gp << "\n# ---- " << model << ", " << header << "\n";
    gp << "set output '" << base << "_hist.png'\n"
       << "set title '" << model << ": " << header << " improvement over KD (KD - method; > 0: beats KD)'\n"
       << "set xlabel 'improvement over KD'\nset ylabel 'hyper-parameter points'\n"
       << "set boxwidth " << fmt("%.9g", w / shown.size()) << " absolute\nset autoscale\nset yrange [0:*]\n"
       << "set xrange [" << fmt("%.9g", (b0 - 1) * w) << ":" << fmt("%.9g", (b1 + 1) * w) << "]\n"
       << "set arrow 1 from 0, graph 0 to 0, graph 1 nohead dt 2 lc rgb 'black'\n"
       << "plot ";
    for (size_t i = 0; i < shown.size(); ++i) {
      const int mi = shown[i];
      const double offset = (static_cast<double>(i) - 0.5 * (shown.size() - 1)) * w / shown.size();
      gp << (i ? ", " : "") << "'" << base << "_hist.dat' using ($1" << (offset < 0 ? "" : "+") << fmt("%.9g", offset)
         << "):" << mi + 2 << " with boxes lc rgb '" << kColors[mi] << "' title '" << method_label(kMethods[mi]) << "'";
    }
    gp << "\nunset arrow 1\n";
    gp << "set output '" << base << "_scatter.png'\n"
       << "set title '" << model << ": " << header
       << ", KD vs method per hyper-parameter point (below the diagonal: beats KD)'\n"
       << "set xlabel 'KD " << header << "'\nset ylabel 'method " << header << "'\n"
       << "set xrange [" << fmt("%.9g", vlo - pad) << ":" << fmt("%.9g", vhi + pad) << "]\n"
       << "set yrange [" << fmt("%.9g", vlo - pad) << ":" << fmt("%.9g", vhi + pad) << "]\n"
       << "plot x with lines lc rgb 'black' dt 2 title 'y = x'";
    for (int mi = 0; mi < 3; ++mi)
      gp << ", '" << base << "_scatter.dat' using ($1==" << mi << "?$2:1/0):3 with points pt 7 ps 1.3 lc rgb '"
         << kColors[mi] << "' title '" << method_label(kMethods[mi]) << "'";
    gp << "\nset autoscale\n";
    expected.push_back((fs::path(dir) / (base + "_hist.png")).string());
    expected.push_back((fs::path(dir) / (base + "_scatter.png")).string());
  }
  if (expected.empty()) return {};
  util::write_file_atomic((fs::path(dir) / "plot.gp").string(), gp.str());
  const std::string cmd = "cd " + shell_quote(dir) + " && " + shell_quote(gnuplot) + " plot.gp 2>gnuplot.log";
  if (std::system(cmd.c_str()) != 0)
    spdlog::warn("report: gnuplot failed (see {}/gnuplot.log); tables are unaffected", dir);
  std::vector<std::string> made;
  for (const auto& f : expected)
    if (fs::exists(f) && fs::file_size(f) > 0) made.push_back(f);
  return made;
}

std::vector<std::string> write_curve_figures(const std::vector<Curve>& curves, const std::string& dir,
                                             const std::string& gnuplot) {
  fs::create_directories(dir);
  std::map<std::string, std::vector<const Curve*>> by_model;
  for (const auto& c : curves)
    if (!c.points.empty()) by_model[c.model].push_back(&c);
  const std::map<std::string, const char*> colors = {
      {"nll", "#7f7f7f"}, {"kd", "#d62728"}, {"hldc", "#1f77b4"}, {"hldf", "#2ca02c"}};
  std::ostringstream gp;
  gp << "# gnuplot script written by `hld-train report`; run it in this folder to redraw.\n"
     << terminal_line(gnuplot, 1400, 560) << "set style fill transparent solid 0.2 noborder\nset grid\n"
     << "set key top right\nset format x '%.1e'\nset xlabel 'training FLOPs'\n";
  std::vector<std::string> expected;
  for (const auto& [model, cs] : by_model) {
    const std::string base = safe_name(model) + "_curves";
    gp << "\n# ---- " << model << "\nset output '" << base << ".png'\nset multiplot layout 1,2 title '" << model
       << ": best point per method, mean over seeds (band: min-max)'\n";
    for (const char* kind : {"valid", "train"}) {
      gp << "set title '" << (std::string(kind) == "valid" ? "held-out loss" : "train NLL (the student's next-token loss)") << "'\nset ylabel 'loss (nats)'\n";
      int arrow = 0;
      for (const Curve* c : cs)
        if (c->kind == kind && c->phase_end_flops)
          gp << "set arrow " << ++arrow << " from " << fmt("%.9g", *c->phase_end_flops) << ", graph 0 to "
             << fmt("%.9g", *c->phase_end_flops) << ", graph 1 nohead dt 2 lc rgb '"
             << (colors.count(c->method) ? colors.at(c->method) : "black") << "'\n";
      std::string plot;
      for (size_t i = 0; i < cs.size(); ++i) {
        const Curve* c = cs[i];
        if (c->kind != kind) continue;
        const std::string dat = base + "_" + std::to_string(i) + ".dat";
        std::ostringstream d;
        d << "# step flops mean min max runs (" << model << ", " << c->method << ", " << describe_point(c->point)
          << ", " << c->kind << ")\n";
        for (const auto& p : c->points)
          d << p.step << " " << fmt("%.9g", p.flops) << " " << fmt("%.9g", p.mean) << " " << fmt("%.9g", p.lo) << " "
            << fmt("%.9g", p.hi) << " " << p.n << "\n";
        util::write_file_atomic((fs::path(dir) / dat).string(), d.str());
        const std::string col = colors.count(c->method) ? colors.at(c->method) : "black";
        const std::string title = point_label(c->point) + (c->phase_end_flops ? " (dashed: phase 1 ends)" : "");
        plot += std::string(plot.empty() ? "plot " : ", ") + "'" + dat + "' using 2:4:5 with filledcurves lc rgb '" +
                col + "' notitle, '" + dat + "' using 2:3 with linespoints pt 7 ps 0.5 lw 2 lc rgb '" + col +
                "' title '" + title + "'";
      }
      gp << (plot.empty() ? "plot 1/0 notitle" : plot) << "\n";
      for (int a = 1; a <= arrow; ++a) gp << "unset arrow " << a << "\n";
    }
    gp << "unset multiplot\n";
    expected.push_back((fs::path(dir) / (base + ".png")).string());
  }
  if (expected.empty()) return {};
  util::write_file_atomic((fs::path(dir) / "curves.gp").string(), gp.str());
  const std::string cmd = "cd " + shell_quote(dir) + " && " + shell_quote(gnuplot) + " curves.gp 2>curves_gnuplot.log";
  if (std::system(cmd.c_str()) != 0)
    spdlog::warn("report: gnuplot failed on the loss curves (see {}/curves_gnuplot.log)", dir);
  std::vector<std::string> made;
  for (const auto& f : expected)
    if (fs::exists(f) && fs::file_size(f) > 0) made.push_back(f);
  return made;
}

}  // namespace hld::report
