// The report writer: tables, statistics, figures and the paper comparison for a set of runs
// (see hld/report/report.h).
#include "hld/report/report.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "hld/report/compare.h"
#include "hld/report/curves.h"
#include "hld/report/curve_figures.h"
#include "hld/report/figures.h"
#include "hld/report/metrics.h"
#include "hld/report/paired.h"
#include "hld/report/paper_compare.h"
#include "hld/report/paper_results.h"
#include "hld/report/tables.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::report {
namespace {

// Prepends a constant column (e.g. the model) to a CSV table.
Table with_column(const Table& t, const std::string& name, const std::string& value) {
  Table out;
  out.header = t.header;
  out.header.insert(out.header.begin(), name);
  for (const auto& r : t.rows) {
    auto row = r;
    row.insert(row.begin(), value);
    out.add(row);
  }
  return out;
}

void append_rows(Table& into, const Table& t) {
  if (into.header.empty()) into.header = t.header;
  for (const auto& r : t.rows) into.add(r);
}

Point teacher_point(const std::vector<RunRecord>& teachers) {
  Point p;
  p.key.method = "teacher";
  for (const auto& pt : group_points(teachers)) {
    for (const RunRecord* r : pt.runs) p.runs.push_back(r);
  }
  std::map<std::string, double> sum;
  for (const RunRecord* r : p.runs)
    for (const auto& [id, v] : r->metrics) {
      sum[id] += v;
      p.count[id] += 1;
    }
  for (const auto& [id, s] : sum) p.mean[id] = s / p.count[id];
  return p;
}

std::string compute_note(const std::vector<Point>& pts) {
  double lo = 0, hi = 0;
  int n = 0;
  for (const auto& p : pts)
    for (const RunRecord* r : p.runs)
      if (r->flops) {
        lo = n ? std::min(lo, *r->flops) : *r->flops;
        hi = n ? std::max(hi, *r->flops) : *r->flops;
        ++n;
      }
  if (!n) return "Training FLOPs: not recorded in the eval JSON of these runs.\n";
  std::ostringstream o;
  o << "Training FLOPs over " << n << " runs: min " << fmt("%.6e", lo) << ", max " << fmt("%.6e", hi) << " (spread "
    << fmt("%.4f", hi > 0 ? 100.0 * (hi - lo) / hi : 0.0)
    << " % of the max; the budget controller stops every run within one optimizer step of its budget).\n";
  return o.str();
}

// The report's conventions, stated once at the top of report.md.
constexpr const char* kConventions =
    "- Lower is better everywhere: log-perplexity in nats, error = 1 − accuracy; \"—\": metric not evaluated.\n"
    "- **Δ = method − reference**, so **Δ < 0: the method is better**. Each comparison is made once: KD against "
    "NLL (Δ = KD − NLL), every other method (HLDC, HLDF, KD variants) against KD (e.g. Δ = HLDF − KD). Every "
    "table, sentence and CSV of this report (`delta`, `mean_diff`, `mean`) uses this Δ; the paper's Figures 2–4 "
    "plot −Δ (\"improvement over KD\").";

// Order of comparisons in every table: KD − NLL first (the baseline), then the methods against
// KD in table order; points keep their grid order.
template <typename T>
void in_table_order(std::vector<T>& v) {
  std::stable_sort(v.begin(), v.end(), [](const T& a, const T& b) {
    auto rank = [](const T& c) {
      return std::make_tuple(is_baseline_reference(c.reference) ? 0 : 1, method_rank(c.method), c.method_point.variant);
    };
    return rank(a) < rank(b);
  });
}

// What each kind of figure shows, below the figures.
constexpr const char* kFigureGuide =
    "- `*_curves.png`: held-out loss (left) and train NLL (right) against training FLOPs for each method's best "
    "point, mean over seeds with the min–max band; a dashed vertical line marks where HLDF's phase 1 (hidden-layer "
    "hints only) ends and its KD phase begins.\n"
    "- `*_hist.png`: Δ at each shared hyper-parameter point (HLDC − KD, HLDF − KD; KD − NLL when there is no HLD "
    "run), bars left of the dashed line at 0 are points where the method is better.\n"
    "- `*_scatter.png`: each method's value against KD's at the same point (NLL, HLDC, HLDF); below the diagonal "
    "the method is lower than KD.\n";

// The same, in one line for the terminal.
constexpr const char* kConsoleConvention =
    "Δ = method − reference, Δ < 0: the method is better (KD is compared with NLL, every other method with KD).";

// Draws the figures, warns about each one gnuplot could not draw (by name), and returns the
// Markdown that shows them and names the missing ones.
std::string figures_section(const std::vector<Comparison>& pointwise_all, const std::vector<Curve>& curves,
                            const ReportOptions& opt, ReportResult& res) {
  std::ostringstream md;
  md << "## Figures\n\n";
  if (!gnuplot_available(opt.gnuplot)) {
    spdlog::warn("report: '{}' not found; no figures drawn (install gnuplot-nox)", opt.gnuplot);
    res.figure_failures.push_back("every figure: gnuplot '" + opt.gnuplot + "' not found");
    md << "_Not drawn: gnuplot (`" << opt.gnuplot << "`) was not found; install gnuplot-nox and re-run._\n\n";
    return md.str();
  }
  const std::string dir = (fs::path(opt.out_dir) / "figures").string();
  FigureSet all = write_curve_figures(curves, dir, opt.gnuplot);
  FigureSet cmp = write_figures(pointwise_all, dir, opt.gnuplot);
  all.made.insert(all.made.end(), cmp.made.begin(), cmp.made.end());
  all.failed.insert(all.failed.end(), cmp.failed.begin(), cmp.failed.end());
  res.figures = all.made;
  for (const auto& f : all.made)
    md << "![" << fs::path(f).stem().string() << "](figures/" << fs::path(f).filename().string() << ")\n";
  if (!all.made.empty()) md << "\n" << kFigureGuide;
  if (!all.failed.empty()) md << "\n**Not drawn** (gnuplot failed; the tables above do not depend on it):\n\n";
  for (const auto& f : all.failed) {
    spdlog::warn("report: figure {} not drawn: {}", f.name, f.error);
    res.figure_failures.push_back(f.name + ": " + f.error);
    md << "- `" << f.name << ".png`: " << f.error << "\n";
  }
  md << "\n";
  return md.str();
}

// What the report writes besides report.md: one table per CSV file, rows appended model by model.
struct ReportCsvs {
  Table runs, best, pointwise, signs, paper, paired, verdicts, curves, teacher_cost;
  ReportCsvs() {
    verdicts.header = {"model", "metric", "method",   "reference",  "points", "seeds",   "mean_diff",
                       "ci_lo", "ci_hi",  "interval", "lower_runs", "runs",   "sentence"};
    curves.header = {"model", "method", "point", "kind", "step", "flops", "mean", "min", "max", "runs"};
  }
};

// Where each section writes: report.md, the console summary, the CSV tables.
struct Out {
  std::ostringstream md, summary;
  ReportCsvs csv;
};

// The title, run counts and conventions, and the runs not evaluated yet.
void header_section(Out& o, const std::vector<RunRecord>& runs, size_t teachers, const ReportResult& res) {
  const std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  o.md << "# hld-train report\n\n"
       << res.runs << " runs (" << res.finished << " evaluated), " << teachers << " teacher run(s); written " << date
       << ".\n\n"
       << kConventions << "\n\n";
  o.summary << kConsoleConvention << "\n";
  if (res.finished < res.runs) {
    o.md << "Not evaluated yet (no eval.json):";
    for (const auto& r : runs)
      if (!r.finished) o.md << " `" << r.dir << "`";
    o.md << "\n\n";
  }
}

// Table 2 layout: the best point of each method by the selection metric.
void best_section(Out& o, const std::vector<Point>& pts, const std::string& model, const std::string& sel,
                  const Point* teacher) {
  o.md << "### Best hyper-parameters per method (Table 2 layout)\n\n";
  if (sel.empty())
    o.md << "No run of this model has C4 or held-out log-perplexity yet.\n\n";
  else
    o.md << "Best point of each method by " << metric_spec(sel).header << " log-perplexity"
         << (sel == "valid" ? " (held-out token shards; no C4 evaluation in these runs)" : "") << ".\n\n";
  const Table best = best_table(pts, sel, teacher, false);
  o.md << best.markdown() << "\n" << compute_note(pts) << "\n";
  o.summary << best.markdown();
  append_rows(o.csv.best, with_column(best_table(pts, sel, teacher, true), "model", model));
}

// Seed-paired comparisons: per point, then the verdict over the points.
void paired_section(Out& o, const std::vector<Point>& pts, const std::string& sel, const ReportOptions& opt) {
  std::vector<PairedPoint> paired;
  for (const auto& id : shown_metrics(pts, false, false)) {
    auto pp = paired_points(pts, id, opt.bootstrap, opt.seed);
    in_table_order(pp);
    paired.insert(paired.end(), pp.begin(), pp.end());
  }
  append_rows(o.csv.paired, paired_table(paired, true));
  o.md << "### Seed-paired comparisons\n\n";
  if (paired.empty()) {
    o.md << "No pairs: needs KD runs and NLL/HLDC/HLDF runs at the same (η, τ, α) and seed.\n\n";
    return;
  }
  const auto verdicts = paired_verdicts(paired, opt.bootstrap, opt.seed);
  o.md << "Runs paired by seed (same seed: same data order and initialisation), Δ per seed. Interval: Student t "
          "over seeds (bootstrap over seeds from 5 seeds); over several points, each seed's Δ is averaged over "
          "the points first.\n\n";
  for (const auto& v : verdicts)
    if (v.metric == sel) {
      o.md << "- " << v.sentence << "\n";
      o.summary << v.sentence << "\n";
    }
  std::vector<PairedPoint> shown;
  for (const auto& p : paired)
    if (p.metric == sel) shown.push_back(p);
  o.md << "\n" << paired_table(shown, false).markdown() << "\n";
  for (const auto& v : verdicts) {
    const bool has = v.diff.kind != "none";
    o.csv.verdicts.add({v.model, v.metric, point_id(PointKey{v.model, v.method, v.variant}), v.reference,
                        std::to_string(v.points), std::to_string(v.seeds), fmt("%.6g", v.diff.mean),
                        has ? fmt("%.6g", v.diff.lo) : "", has ? fmt("%.6g", v.diff.hi) : "", v.diff.kind,
                        std::to_string(v.lower_runs), std::to_string(v.runs), v.sentence});
  }
}

// Loss curves of each method's best point (read once: the figure, curves.csv, teacher cost).
std::vector<Curve> best_curves(Out& o, const std::vector<Point>& pts, const std::string& sel) {
  std::vector<Curve> out;
  for (const Point* bp : best_points(pts, sel))
    for (auto& c : point_curves(*bp)) {
      for (const auto& q : c.points)
        o.csv.curves.add({c.model, point_id(c.point), describe_point(c.point), c.kind, std::to_string(q.step),
                          fmt("%.6g", q.flops), fmt("%.6g", q.mean), fmt("%.6g", q.lo), fmt("%.6g", q.hi),
                          std::to_string(q.n)});
      if (!c.points.empty()) out.push_back(std::move(c));
    }
  return out;
}

// Pointwise comparisons at shared hyper-parameters (Figures 2–7 data) on every metric; returns them.
std::vector<Comparison> pointwise_section(Out& o, const std::vector<Point>& pts, const std::string& sel,
                                          const ReportOptions& opt) {
  std::vector<Comparison> pw;
  for (const auto& id : shown_metrics(pts, false, false)) {
    auto c = pointwise(pts, id);
    in_table_order(c);
    pw.insert(pw.end(), c.begin(), c.end());
  }
  o.md << "### Shared hyper-parameters, point by point (Figures 2–7 data)\n\n";
  if (pw.empty()) {
    o.md << "No pairs: needs KD runs and NLL/HLDC/HLDF runs at the same (η, τ, α).\n\n";
    return pw;
  }
  const auto sums = summarize(pw, opt.bootstrap, opt.seed);
  o.md << "Per hyper-parameter point (means over seeds): how often the method is lower than its reference, an "
          "exact two-sided sign test, and a bootstrap interval of the mean Δ over the points.\n\n"
       << summary_table(sums, false).markdown() << "\n";
  append_rows(o.csv.signs, summary_table(sums, true));
  std::vector<Comparison> detail;
  for (const auto& c : pw)
    if (c.metric == sel) detail.push_back(c);
  if (!detail.empty())
    o.md << "Each pair on " << metric_spec(sel).header << ":\n\n" << pointwise_table(detail, false).markdown() << "\n";
  append_rows(o.csv.pointwise, pointwise_table(pw, true));
  return pw;
}

// Tables 4/5 layout: every run.
void runs_section(Out& o, const std::vector<Point>& pts) {
  o.md << "### All runs (Tables 4/5 layout)\n\n" << runs_table(pts, false).markdown() << "\n";
  append_rows(o.csv.runs, runs_table(pts, true));
}

// report.md and the CSV files, atomically, listed in res.files.
void write_files(const Out& o, const ReportOptions& opt, bool paper, ReportResult& res) {
  auto put = [&](const std::string& name, const std::string& text) {
    const std::string path = (fs::path(opt.out_dir) / name).string();
    util::write_file_atomic(path, text);
    res.files.push_back(path);
  };
  const ReportCsvs& c = o.csv;
  put("report.md", o.md.str());
  put("runs.csv", c.runs.csv());
  put("best.csv", c.best.csv());
  put("pointwise.csv", c.pointwise.header.empty() ? pointwise_table({}, true).csv() : c.pointwise.csv());
  put("sign_tests.csv", c.signs.header.empty() ? summary_table({}, true).csv() : c.signs.csv());
  put("paired.csv", c.paired.header.empty() ? paired_table({}, true).csv() : c.paired.csv());
  put("verdicts.csv", c.verdicts.csv());
  put("curves.csv", c.curves.csv());
  if (!c.teacher_cost.header.empty()) put("teacher_cost.csv", c.teacher_cost.csv());
  if (paper) put("paper_comparison.csv", c.paper.csv());
  for (const auto& f : res.figures) res.files.push_back(f);
}

}  // namespace

ReportResult write_report(const std::vector<RunRecord>& runs, const std::vector<RunRecord>& teachers,
                          const ReportOptions& opt) {
  HLD_INPUT_CHECK(!runs.empty(), "report: no runs to report");
  std::string paper_size_arg;
  if (!opt.compare_paper.empty()) paper_size_arg = paper_size(opt.compare_paper);
  fs::create_directories(opt.out_dir);
  ReportResult res;
  res.runs = static_cast<int>(runs.size());
  for (const auto& r : runs) res.finished += r.finished ? 1 : 0;

  const auto points = group_points(runs);
  const Point teacher = teacher_point(teachers);
  const Point* teacher_ptr = teachers.empty() ? nullptr : &teacher;

  Out o;
  header_section(o, runs, teachers.size(), res);
  std::vector<Comparison> all_pointwise;
  std::vector<Curve> curves;
  for (const auto& model : models_of(points)) {
    const auto pts = points_of(points, model);
    const std::string sel = selection_metric(pts);
    o.md << "## " << model << "\n\n";
    o.summary << "== " << model << " ==\n";
    best_section(o, pts, model, sel, teacher_ptr);
    paired_section(o, pts, sel, opt);
    const std::vector<Curve> model_curves = best_curves(o, pts, sel);
    curves.insert(curves.end(), model_curves.begin(), model_curves.end());
    if (!sel.empty()) {
      const auto tc = teacher_cost_section(pts, sel, model_curves, teachers, opt.teacher_cost);
      o.md << tc.markdown;
      append_rows(o.csv.teacher_cost, tc.csv);
    }
    const auto pw = pointwise_section(o, pts, sel, opt);
    all_pointwise.insert(all_pointwise.end(), pw.begin(), pw.end());
    runs_section(o, pts);
    if (!paper_size_arg.empty()) {
      auto ps = paper_section(pts, model, sel, teacher_ptr, paper_size_arg, opt.bootstrap, opt.seed);
      o.md << ps.markdown;
      append_rows(o.csv.paper, ps.csv);
    }
  }
  if (opt.figures && (!all_pointwise.empty() || !curves.empty()))
    o.md << figures_section(all_pointwise, curves, opt, res);

  write_files(o, opt, !paper_size_arg.empty(), res);
  res.summary = o.summary.str();
  if (opt.strict && !res.figure_failures.empty()) {
    std::string names;
    for (const auto& f : res.figure_failures) names += (names.empty() ? "" : "; ") + f;
    throw std::runtime_error("report --strict: " + std::to_string(res.figure_failures.size()) +
                             " figure(s) not drawn (the tables are written): " + names);
  }
  return res;
}

ReportResult report_dirs(const std::vector<std::string>& dirs, const std::vector<std::string>& teacher_dirs,
                         const ReportOptions& opt) {
  HLD_INPUT_CHECK(!dirs.empty(), "report: give at least one run folder");
  std::vector<RunRecord> runs, teachers;
  for (const auto& d : find_run_dirs(dirs)) runs.push_back(load_run(d));
  if (!teacher_dirs.empty())
    for (const auto& d : find_run_dirs(teacher_dirs)) {
      RunRecord r = load_run(d);
      r.method = kTeacherMethod;
      teachers.push_back(r);
    }
  // A folder given both as a run and as the teacher is the teacher.
  runs.erase(std::remove_if(runs.begin(), runs.end(),
                            [&](const RunRecord& r) {
                              return std::any_of(teachers.begin(), teachers.end(), [&](const RunRecord& t) {
                                return fs::weakly_canonical(t.dir) == fs::weakly_canonical(r.dir);
                              });
                            }),
             runs.end());
  return write_report(runs, teachers, opt);
}

}  // namespace hld::report
