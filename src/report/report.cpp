// The report writer: tables, statistics, figures and the paper comparison for a set of runs
// (see hld/report/report.h).
#include "hld/report/report.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "hld/report/compare.h"
#include "hld/report/curves.h"
#include "hld/report/figures.h"
#include "hld/report/metrics.h"
#include "hld/report/paired.h"
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

// Markdown cell "ours / paper".
std::string pair_cell(const double* ours, const double* paper) { return fmt_metric(ours) + " / " + fmt_metric(paper); }

struct PaperSection {
  std::string markdown;
  Table csv;
};

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
  for (const char* m : {"teacher", "nll", "kd", "hldc", "hldf"}) {
    const Point* mine = nullptr;
    if (std::string(m) == "teacher") mine = teacher;
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
  signs.header = {"Method", "ours: beats KD / n", "ours: mean Δ", "paper (C4): beats KD / n", "paper: mean Δ"};
  for (const char* m : {"nll", "hldc", "hldf"}) {
    std::vector<std::string> row = {method_label(m), "—", "—", "—", "—"};
    for (const auto& s : ours_sum)
      if (s.method == m) {
        row[1] = std::to_string(s.wins) + " / " + std::to_string(s.n);
        row[2] = fmt("%+.4f", s.mean);
      }
    for (const auto& s : paper_sum)
      if (s.method == m) {
        row[3] = std::to_string(s.wins) + " / " + std::to_string(s.n);
        row[4] = fmt("%+.4f", s.mean);
      }
    signs.add(row);
  }
  md << "Improvement over KD at shared hyper-parameters:\n\n" << signs.markdown() << "\n";

  // Grid points present in both.
  Table pts;
  pts.header = {"Method", "η", "P1", "α", "τ", "γ", "C4 ours", "C4 paper", "Δ (ours − paper)"};
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
      const bool kdlike = k.method != "nll";
      pts.add({point_label(k), fmt_hparam(k.lr), hp(k.p1, k.method == "hldf"), hp(k.alpha, kdlike),
               hp(k.temperature, kdlike), hp(k.gamma, k.method == "hldc"), fmt_metric(c4a), fmt_metric(c4b),
               c4a && c4b ? fmt("%+.3f", *c4a - *c4b) : "—"});
      std::vector<std::string> row = {model,
                                      k.method,
                                      fmt_hparam(k.lr),
                                      hp(k.p1, k.method == "hldf"),
                                      hp(k.alpha, kdlike),
                                      hp(k.temperature, kdlike),
                                      hp(k.gamma, k.method == "hldc")};
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

// "− − +": per-seed signs of method − reference, in seed order.
std::string signs(const PairedPoint& p) {
  std::string out;
  for (double d : p.diffs) out += std::string(out.empty() ? "" : " ") + (std::abs(d) < 1e-9 ? "0" : d < 0 ? "−" : "+");
  return out;
}

Table paired_table(const std::vector<PairedPoint>& pairs, bool precise) {
  Table t;
  t.header = {"Method", "vs", "Point", "Metric", "Seeds", "Mean Δ (method − ref)", "95 % interval", "Interval",
              "Per-seed signs"};
  if (precise) t.header = {"model", "metric", "method", "reference", "point", "seeds", "n", "mean_diff", "ci_lo", "ci_hi",
                           "interval", "lower", "higher", "ties", "diffs"};
  for (const auto& p : pairs) {
    std::string seeds, diffs;
    for (size_t i = 0; i < p.seeds.size(); ++i) {
      seeds += (i ? " " : "") + std::to_string(p.seeds[i]);
      diffs += (i ? " " : "") + fmt("%.6g", p.diffs[i]);
    }
    const bool has = p.diff.kind != "none";
    if (precise)
      t.add({p.model, p.metric, point_id(p.method_point), p.reference, describe_point(p.method_point), seeds,
             std::to_string(p.diff.n), fmt("%.6g", p.diff.mean), has ? fmt("%.6g", p.diff.lo) : "",
             has ? fmt("%.6g", p.diff.hi) : "", p.diff.kind, std::to_string(p.lower), std::to_string(p.higher),
             std::to_string(p.ties), diffs});
    else
      t.add({point_label(p.method_point), method_label(p.reference), describe_point(p.method_point),
             metric_spec(p.metric).header, std::to_string(p.diff.n), fmt("%+.4f", p.diff.mean),
             has ? "[" + fmt("%+.4f", p.diff.lo) + ", " + fmt("%+.4f", p.diff.hi) + "]" : "—",
             p.diff.kind == "t" ? "Student t" : p.diff.kind, signs(p)});
  }
  return t;
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

  std::vector<RunRecord> students;
  for (const auto& r : runs) students.push_back(r);
  const auto points = group_points(students);
  const Point teacher = teacher_point(teachers);
  const Point* teacher_ptr = teachers.empty() ? nullptr : &teacher;

  std::ostringstream md, summary;
  const std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  md << "# hld-train report\n\n"
     << res.runs << " runs (" << res.finished << " evaluated), " << teachers.size() << " teacher run(s); written "
     << date << ".\nLower is better everywhere: log-perplexity in nats, error = 1 − accuracy. "
     << "\"—\": metric not evaluated. Δ = KD − method (> 0: the method beats KD).\n\n";
  if (res.finished < res.runs) {
    md << "Not evaluated yet (no eval.json):";
    for (const auto& r : runs)
      if (!r.finished) md << " `" << r.dir << "`";
    md << "\n\n";
  }

  Table runs_csv, best_csv, imp_csv, sign_csv, paper_csv_table, paired_csv, verdict_csv, curves_csv, teacher_cost_csv;
  verdict_csv.header = {"model", "metric", "method", "reference", "points", "seeds", "mean_diff", "ci_lo", "ci_hi",
                        "interval", "lower_runs", "runs", "sentence"};
  curves_csv.header = {"model", "method", "point", "kind", "step", "flops", "mean", "min", "max", "runs"};
  std::vector<Comparison> all_pointwise;
  std::vector<Curve> curves;
  for (const auto& model : models_of(points)) {
    const auto pts = points_of(points, model);
    const std::string sel = selection_metric(pts);
    md << "## " << model << "\n\n";
    summary << "== " << model << " ==\n";

    md << "### Best hyper-parameters per method (Table 2 layout)\n\n";
    if (sel.empty())
      md << "No run of this model has C4 or held-out log-perplexity yet.\n\n";
    else
      md << "Best point of each method by " << metric_spec(sel).header << " log-perplexity"
         << (sel == "valid" ? " (held-out token shards; no C4 evaluation in these runs)" : "") << ".\n\n";
    const Table best = best_table(pts, sel, teacher_ptr, false);
    md << best.markdown() << "\n" << compute_note(pts) << "\n";
    summary << best.markdown();
    append_rows(best_csv, with_column(best_table(pts, sel, teacher_ptr, true), "model", model));

    // Seed-paired comparisons: per point, then the verdict over the points.
    std::vector<PairedPoint> paired;
    for (const auto& id : shown_metrics(pts, false, false)) {
      auto pp = paired_points(pts, id, opt.bootstrap, opt.seed);
      paired.insert(paired.end(), pp.begin(), pp.end());
    }
    append_rows(paired_csv, paired_table(paired, true));
    md << "### Seed-paired comparisons\n\n";
    if (paired.empty()) {
      md << "No pairs: needs KD runs and NLL/HLDC/HLDF runs at the same (η, τ, α) and seed.\n\n";
    } else {
      const auto verdicts = paired_verdicts(paired, opt.bootstrap, opt.seed);
      md << "Runs paired by seed (same seed: same data order and initialisation); Δ = method − reference, "
            "below 0: the method is better. Interval: Student t over seeds (bootstrap over seeds from 5 seeds); "
            "over several points, each seed's Δ is averaged over the points first.\n\n";
      for (const auto& v : verdicts)
        if (v.metric == sel) {
          md << "- " << v.sentence << "\n";
          summary << v.sentence << "\n";
        }
      std::vector<PairedPoint> shown;
      for (const auto& p : paired)
        if (p.metric == sel) shown.push_back(p);
      md << "\n" << paired_table(shown, false).markdown() << "\n";
      for (const auto& v : verdicts) {
        const bool has = v.diff.kind != "none";
        verdict_csv.add({v.model, v.metric, point_id(PointKey{v.model, v.method, v.variant}), v.reference, std::to_string(v.points), std::to_string(v.seeds),
                         fmt("%.6g", v.diff.mean), has ? fmt("%.6g", v.diff.lo) : "", has ? fmt("%.6g", v.diff.hi) : "",
                         v.diff.kind, std::to_string(v.lower_runs), std::to_string(v.runs), v.sentence});
      }
    }

    // Loss curves of each method's best point (read once: the figure, curves.csv, teacher cost).
    std::vector<Curve> model_curves;
    for (const Point* bp : best_points(pts, sel))
      for (auto& c : point_curves(*bp)) {
        for (const auto& q : c.points)
          curves_csv.add({c.model, point_id(c.point), describe_point(c.point), c.kind, std::to_string(q.step),
                          fmt("%.6g", q.flops), fmt("%.6g", q.mean), fmt("%.6g", q.lo), fmt("%.6g", q.hi),
                          std::to_string(q.n)});
        if (!c.points.empty()) model_curves.push_back(std::move(c));
      }
    curves.insert(curves.end(), model_curves.begin(), model_curves.end());

    if (!sel.empty()) {
      const auto tc = teacher_cost_section(pts, sel, model_curves, teachers, opt.teacher_cost);
      md << tc.markdown;
      append_rows(teacher_cost_csv, tc.csv);
    }

    // Pointwise improvement over KD (Figures 2–7 data) on every metric that has pairs.
    std::vector<Comparison> pw;
    for (const auto& id : shown_metrics(pts, false, false)) {
      auto c = pointwise(pts, id);
      pw.insert(pw.end(), c.begin(), c.end());
    }
    all_pointwise.insert(all_pointwise.end(), pw.begin(), pw.end());
    md << "### Improvement over KD at shared hyper-parameters (Figures 2–7 data)\n\n";
    if (pw.empty()) {
      md << "No pairs: needs KD runs and NLL/HLDC/HLDF runs at the same (η, τ, α).\n\n";
    } else {
      const auto sums = summarize(pw, opt.bootstrap, opt.seed);
      md << "Per hyper-parameter point (seed means): sign count, exact two-sided sign test, bootstrap "
            "interval of the mean Δ.\n\n"
         << summary_table(sums, false).markdown() << "\n";
      append_rows(sign_csv, summary_table(sums, true));
      std::vector<Comparison> detail;
      for (const auto& c : pw)
        if (c.metric == sel) detail.push_back(c);
      if (!detail.empty())
        md << "Each pair on " << metric_spec(sel).header << ":\n\n"
           << improvement_table(detail, false).markdown() << "\n";
      append_rows(imp_csv, improvement_table(pw, true));
    }

    md << "### All runs (Tables 4/5 layout)\n\n" << runs_table(pts, false).markdown() << "\n";
    append_rows(runs_csv, runs_table(pts, true));

    if (!paper_size_arg.empty()) {
      auto ps = paper_section(pts, model, sel, teacher_ptr, paper_size_arg, opt.bootstrap, opt.seed);
      md << ps.markdown;
      append_rows(paper_csv_table, ps.csv);
    }
  }

  // Figures.
  const std::string fig_dir = (fs::path(opt.out_dir) / "figures").string();
  if (opt.figures && (!all_pointwise.empty() || !curves.empty())) {
    if (gnuplot_available(opt.gnuplot)) {
      res.figures = write_curve_figures(curves, fig_dir, opt.gnuplot);
      if (!all_pointwise.empty())
        for (const auto& f : write_figures(all_pointwise, fig_dir, opt.gnuplot)) res.figures.push_back(f);
      if (!res.figures.empty()) {
        md << "## Figures\n\n";
        for (const auto& f : res.figures)
          md << "![" << fs::path(f).stem().string() << "](figures/" << fs::path(f).filename().string() << ")\n";
        md << "\n";
      }
    } else {
      spdlog::warn("report: '{}' not found; skipping figures (install gnuplot-nox)", opt.gnuplot);
      md << "_Figures skipped: gnuplot not found._\n";
    }
  }

  auto put = [&](const std::string& name, const std::string& text) {
    const std::string path = (fs::path(opt.out_dir) / name).string();
    util::write_file_atomic(path, text);
    res.files.push_back(path);
  };
  put("report.md", md.str());
  put("runs.csv", runs_csv.csv());
  put("best.csv", best_csv.csv());
  put("improvement.csv", imp_csv.header.empty() ? improvement_table({}, true).csv() : imp_csv.csv());
  put("sign_tests.csv", sign_csv.header.empty() ? summary_table({}, true).csv() : sign_csv.csv());
  put("paired.csv", paired_csv.header.empty() ? paired_table({}, true).csv() : paired_csv.csv());
  put("verdicts.csv", verdict_csv.csv());
  put("curves.csv", curves_csv.csv());
  if (!teacher_cost_csv.header.empty()) put("teacher_cost.csv", teacher_cost_csv.csv());
  if (!paper_size_arg.empty()) put("paper_comparison.csv", paper_csv_table.csv());
  for (const auto& f : res.figures) res.files.push_back(f);
  res.summary = summary.str();
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
      r.method = "teacher";
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
