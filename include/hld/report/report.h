// `hld-train report`: run folders → Markdown + CSV tables in the paper's layouts (Tables 2, 4, 5),
// the comparisons at shared hyper-parameters in one Δ convention (Δ = method − reference: KD
// against NLL, every other method against KD) with sign counts and seed-paired statistics
// (Figures 2–7 data), gnuplot PNG figures, and optionally the paper's own numbers beside them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hld/report/runs.h"
#include "hld/report/teacher_cost.h"

namespace hld::report {

struct ReportOptions {
  std::string out_dir = "report";   ///< where report.md, *.csv and figures/ go
  std::string compare_paper;        ///< "" | "123m" | "735m": set the paper's tables beside
  bool figures = true;              ///< draw PNGs (skipped with a warning without gnuplot)
  bool strict = false;              ///< a figure not drawn is an error (thrown after every file is written)
  std::string gnuplot = "gnuplot";  ///< gnuplot executable
  int bootstrap = 10000;            ///< bootstrap resamples for the mean-improvement interval
  uint64_t seed = 0;                ///< bootstrap RNG seed (reports are reproducible)
  TeacherCostMode teacher_cost;     ///< teacher FLOPs charged to distilled runs (none | full | amortize:N)
};

struct ReportResult {
  std::vector<std::string> files;            ///< everything written (report.md first)
  std::vector<std::string> figures;          ///< the PNGs among them
  std::vector<std::string> figure_failures;  ///< "name: what went wrong (see its log)", one per figure not drawn
  std::string summary;                       ///< the Table 2-style comparison, for the terminal
  int runs = 0, finished = 0;
};

/// Writes the report for `runs` (students) and `teachers` (rows "Teacher" of Table 2). A figure
/// gnuplot cannot draw is a warning naming it, listed in report.md and `figure_failures`; with
/// `strict` it is also a std::runtime_error (exit 1), thrown once every file is written.
ReportResult write_report(const std::vector<RunRecord>& runs, const std::vector<RunRecord>& teachers,
                          const ReportOptions& opt);

/// Finds and loads run folders under `dirs` (and teacher runs under `teacher_dirs`), then
/// write_report(). InputError when a folder is missing or holds no run.
ReportResult report_dirs(const std::vector<std::string>& dirs, const std::vector<std::string>& teacher_dirs,
                         const ReportOptions& opt);

}  // namespace hld::report
