// `hld-train report RUN_DIRS...`: aggregates run folders into the paper's tables (Markdown + CSV),
// the pointwise comparison with KD and its statistics, and gnuplot figures; `--compare-paper`
// sets the paper's own Tables 2/4/5 beside them.
#include <cstdio>
#include <memory>

#include "hld/cli/common.h"
#include "hld/report/report.h"
#include "hld/util/error.h"

namespace hld::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> dirs;
  std::vector<std::string> teachers;
  report::ReportOptions opt;
  bool no_figures = false;
  std::string teacher_cost = "none";
};

int run_report(ReportArgs a) {
  a.opt.figures = !a.no_figures;
  a.opt.teacher_cost = report::parse_teacher_cost(a.teacher_cost);
  const auto res = report::report_dirs(a.dirs, a.teachers, a.opt);
  std::printf("%s\n", res.summary.c_str());
  std::printf("%d runs (%d evaluated). Wrote:\n", res.runs, res.finished);
  for (const auto& f : res.files) std::printf("  %s\n", f.c_str());
  return kExitOk;
}

}  // namespace

void register_report(CLI::App& app, Action& action) {
  auto args = std::make_shared<ReportArgs>();
  auto* sub = app.add_subcommand("report", "aggregate run folders into paper-style tables and figures");
  sub->add_option("RUN_DIRS", args->dirs, "run folders, or folders holding run folders")->required();
  sub->add_option("--out", args->opt.out_dir, "output folder (report.md, *.csv, figures/)");
  sub->add_option("--teacher", args->teachers, "the teacher's run folder (the Teacher row of Table 2)");
  sub->add_option("--compare-paper", args->opt.compare_paper, "set the paper's tables beside the runs: 123m | 735m");
  sub->add_flag("--no-figures", args->no_figures, "skip the gnuplot figures");
  sub->add_flag("--strict", args->opt.strict,
                "a figure that is not drawn (or no gnuplot) is an error: exit 1, after every file is written");
  sub->add_option("--bootstrap", args->opt.bootstrap, "bootstrap resamples for the mean-improvement interval")
      ->check(CLI::PositiveNumber);
  sub->add_option("--teacher-cost", args->teacher_cost,
                  "teacher FLOPs (pre-training + cache generation) charged to each distilled run: none | full | "
                  "amortize:N (shared by N students); re-ranks the methods and states the break-even N")
      ->capture_default_str();
  sub->add_option("--gnuplot", args->opt.gnuplot, "gnuplot executable");
  sub->callback([&action, args] { action = [args] { return run_report(*args); }; });
}

}  // namespace hld::cli
