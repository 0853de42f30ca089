// gnuplot figure of the loss curves, one PNG per model (see hld/report/curve_figures.h).
#include "hld/report/curve_figures.h"

#include <filesystem>
#include <map>
#include <sstream>

#include "hld/report/runs.h"
#include "hld/report/table.h"
#include "hld/report/tables.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::report {
namespace {

struct Panel {
  const char* kind;    // Curve::kind
  const char* title;   // what the panel shows
  const char* ylabel;  // with its unit
};

constexpr Panel kPanels[] = {
    {"valid", "held-out loss (the validation token shards, periodic evaluations)", "held-out loss (nats per token)"},
    {"train", "train NLL: the student's next-token loss on its training batches", "train NLL (nats per token)"},
};

// A curve's legend entry: its method and best point ("HLDF: η 0.003, α 0.5, τ 1, P1 0.1").
std::string legend(const Curve& c) {
  const std::string hp = describe_point(c.point);
  return point_label(c.point) + (hp.empty() ? "" : ": " + hp);
}

// One panel: the band and mean line of every curve of its kind, the dashed end of each first
// phase (HLDF's hint phase) with a legend entry of its own that says what the line is.
std::string panel(const std::string& dir, const std::string& base, const std::string& model,
                  const std::vector<const Curve*>& cs, const Panel& p) {
  std::ostringstream gp;
  gp << "set title " << gp_string(p.title) << "\nset ylabel " << gp_string(p.ylabel) << "\n";
  std::string plot, phases;
  int arrow = 0;
  for (size_t i = 0; i < cs.size(); ++i) {
    const Curve& c = *cs[i];
    if (c.kind != p.kind) continue;
    const std::string dat = base + "_" + std::to_string(i) + ".dat";
    std::ostringstream d;
    d << "# step flops mean min max runs (" << one_line(model + ", " + legend(c) + ", " + c.kind) << ")\n";
    for (const auto& q : c.points)
      d << q.step << " " << fmt("%.9g", q.flops) << " " << fmt("%.9g", q.mean) << " " << fmt("%.9g", q.lo) << " "
        << fmt("%.9g", q.hi) << " " << q.n << "\n";
    util::write_file_atomic((fs::path(dir) / dat).string(), d.str());
    const std::string col = gp_string(method_color(c.method));
    const std::string dash = c.point.variant.empty() ? "" : " dt 4";  // a variant: same colour, dashed
    plot += std::string(plot.empty() ? "plot " : ", ") + gp_string(dat) + " using 2:4:5 with filledcurves lc rgb " +
            col + " notitle, " + gp_string(dat) + " using 2:3 with linespoints pt 7 ps 0.5 lw 2" + dash + " lc rgb " +
            col + " title " + gp_string(legend(c));
    if (c.phase_end_flops) {
      gp << "set arrow " << ++arrow << " from " << fmt("%.9g", *c.phase_end_flops) << ", graph 0 to "
         << fmt("%.9g", *c.phase_end_flops) << ", graph 1 nohead dt 2 lw 1.5 lc rgb " << col << "\n";
      phases += ", NaN with lines dt 2 lw 1.5 lc rgb " + col + " title " +
                gp_string(point_label(c.point) + ": phase 1 (hidden-layer hints only) ends, KD phase begins");
    }
  }
  if (plot.empty()) {  // nothing recorded: an empty, labelled panel (plotting no data is an error)
    gp << "set xrange [0:1]\nset yrange [0:1]\nset label 1 'no records of this kind in metrics.jsonl' at graph "
          "0.5, 0.5 center\nplot NaN notitle\nunset label 1\nset autoscale\n";
    return gp.str();
  }
  gp << plot << phases << "\n";
  for (int a = 1; a <= arrow; ++a) gp << "unset arrow " << a << "\n";
  return gp.str();
}

}  // namespace

FigureSet write_curve_figures(const std::vector<Curve>& curves, const std::string& dir, const std::string& gnuplot) {
  std::map<std::string, std::vector<const Curve*>> by_model;
  for (const auto& c : curves)
    if (!c.points.empty()) by_model[c.model].push_back(&c);
  FigureSet out;
  if (by_model.empty()) return out;
  fs::create_directories(dir);
  for (const auto& [model, cs] : by_model) {
    const std::string base = safe_name(model) + "_curves";
    std::ostringstream gp;
    gp << "# " << one_line(model) << ": loss curves; written by `hld-train report`.\n"
       << gp_open_png(gnuplot, kCurveFigure, base + ".png")
       << "set style fill transparent solid 0.2 noborder\nset grid\nset key below horizontal\n"
       // From 0 FLOPs: where training starts, and where HLDF's short hint phase ends (before the
       // first evaluation of a small run).
       << "set xrange [0:*]\nset format x '%.1te%T'\nset xlabel "
       << gp_string("training FLOPs spent (the budget's count)") << "\n"
       << "set multiplot layout 1,2 title "
       << gp_string(model + ": each method's best point, mean over seeds (shaded: min to max over seeds)") << "\n";
    for (const Panel& p : kPanels) gp << panel(dir, base, model, cs, p);
    gp << "unset multiplot\n";
    out.add(draw_figure(dir, base, gp.str(), gnuplot));
  }
  return out;
}

}  // namespace hld::report
