// The report's figures, looked at pixel by pixel (png_reader.h): every figure kind drawn with
// hostile labels (apostrophes, quotes, backslashes, underscores, carets, `@`, non-ASCII model,
// method and variant names) has the size it asks for and every panel shows each of its series;
// the figures of a whole report draw; a figure gnuplot fails on is named, not left half-drawn,
// and `strict` makes it an error. Tests that need gnuplot skip, saying so, when it is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "hld/report/curve_figures.h"
#include "hld/report/figures.h"
#include "hld/report/report.h"
#include "hld/util/fs.h"
#include "figure_checks.h"
#include "run_fixtures.h"

namespace fs = std::filesystem;

namespace hld::report {
namespace {

using testing::expect_panels;

#define REQUIRE_GNUPLOT()                                                    \
  if (!gnuplot_available())                                                  \
  GTEST_SKIP() << "gnuplot is not installed (apt-get install gnuplot-nox): " \
                  "the figures cannot be drawn, so they are not checked"

const std::string kHostileModel = "o'neil \"tiny\" a_b^c @home \\path\\ \xc3\xbc\xe6\xa8\xa1\xe5\x9e\x8b";
const std::string kNonAsciiModel = "\xe5\xad\xa6\xe7\x94\x9f \xce\xb2'\xe2\x80\x99";  // 学生 β'’

// Twelve KD points per (model, metric) and HLDC, HLDF against each, KD against an NLL point;
// values spread over the panel so that every series draws many pixels.
std::vector<Comparison> hostile_comparisons(const std::string& model, bool with_hld) {
  std::vector<Comparison> out;
  for (const char* metric : {"c4", "hellaswag"}) {
    for (int i = 0; i < 12; ++i) {
      const double kd = (std::string(metric) == "c4" ? 3.0 : 0.6) + 0.02 * i;
      auto add = [&](const char* method, const char* ref, double value, double ref_value) {
        Comparison c;
        c.model = model;
        c.metric = metric;
        c.method = method;
        c.reference = ref;
        c.method_point.model = c.reference_point.model = model;
        c.method_point.method = method;
        c.reference_point.method = ref;
        c.value = value;
        c.reference_value = ref_value;
        c.delta = value - ref_value;
        out.push_back(c);
      };
      add("kd", "nll", kd, kd + 0.05 - 0.01 * (i % 4));
      if (with_hld) {
        add("hldc", "kd", kd + 0.004 * ((i % 5) - 2), kd);
        add("hldf", "kd", kd - 0.003 * (1 + i % 6), kd);
      }
    }
  }
  return out;
}

Curve hostile_curve(const std::string& model, const std::string& method, const std::string& variant,
                    const std::string& kind, double offset) {
  Curve c;
  c.model = model;
  c.method = method;
  c.kind = kind;
  c.point.model = model;
  c.point.method = method;
  c.point.variant = variant;
  c.point.lr = 3e-3;
  c.runs = 2;
  for (int i = 1; i <= 20; ++i) {
    CurvePoint p;
    p.step = 10 * i;
    p.flops = 1e12 * i;
    p.mean = 6.0 * std::pow(i, -0.3) + offset;
    p.lo = p.mean - 0.02;
    p.hi = p.mean + 0.02;
    p.n = 2;
    c.points.push_back(p);
  }
  if (method == "hldf") c.phase_end_flops = 2.5e12;
  return c;
}

TEST(ReportFigures, HostileLabelsDrawEveryPanelOfEveryKind) {
  REQUIRE_GNUPLOT();
  const std::string dir = testing::make_temp_dir("figures") + "/figs";

  auto comps = hostile_comparisons(kHostileModel, true);
  const auto only_kd = hostile_comparisons(kNonAsciiModel, false);  // histogram of KD − NLL
  comps.insert(comps.end(), only_kd.begin(), only_kd.end());
  const FigureSet cmp = write_figures(comps, dir);
  for (const auto& f : cmp.failed) ADD_FAILURE() << f.name << ": " << f.error;
  EXPECT_EQ(cmp.made.size(), 8u);  // 2 models × 2 metrics × (histogram, scatter)
  for (const std::string& model : {kHostileModel, kNonAsciiModel})
    for (const char* metric : {"c4", "hellaswag"}) {
      const std::string base = dir + "/" + safe_name(model) + "_" + metric;
      const bool hld = model == kHostileModel;
      // Histogram: HLDC − KD and HLDF − KD, or KD − NLL when there is no HLD method.
      expect_panels(base + "_hist.png", kComparisonFigure, 1,
                    hld ? std::vector<std::string>{"hldc", "hldf"} : std::vector<std::string>{"kd"});
      // Scatter: every method's value against KD's (KD − NLL pairs drawn as NLL against KD).
      expect_panels(base + "_scatter.png", kComparisonFigure, 1,
                    hld ? std::vector<std::string>{"nll", "hldc", "hldf"} : std::vector<std::string>{"nll"});
    }
  EXPECT_NE(safe_name(kHostileModel), safe_name(kNonAsciiModel));

  std::vector<Curve> curves;
  for (const char* kind : {"valid", "train"}) {
    curves.push_back(hostile_curve(kHostileModel, "nll", "", kind, 0.3));
    curves.push_back(hostile_curve(kHostileModel, "kd", "", kind, 0.1));
    curves.push_back(hostile_curve(kHostileModel, "kd", "rev'kl_\xce\xb2 @x \"q\" \\", kind, 0.05));  // a variant
    curves.push_back(hostile_curve(kHostileModel, "hldc", "", kind, 0.0));
    curves.push_back(hostile_curve(kHostileModel, "hldf", "", kind, -0.1));
    curves.push_back(hostile_curve(kHostileModel, "m\xc3\xa9thode'_^@", "", kind, 0.2));  // unknown, non-ASCII
  }
  const FigureSet cur = write_curve_figures(curves, dir);
  for (const auto& f : cur.failed) ADD_FAILURE() << f.name << ": " << f.error;
  ASSERT_EQ(cur.made.size(), 1u);
  EXPECT_EQ(cur.made[0], dir + "/" + safe_name(kHostileModel) + "_curves.png");
  // Both panels (held-out loss, train NLL) draw every method.
  expect_panels(cur.made[0], kCurveFigure, 2, {"nll", "kd", "hldc", "hldf"});
  // The scripts beside the PNGs carry the labels, escaped (gnuplot doubles an apostrophe).
  const std::string gp = util::read_file(dir + "/" + safe_name(kHostileModel) + "_curves.gp");
  EXPECT_NE(gp.find("o''neil \"tiny\" a_b^c @home \\path\\"), std::string::npos) << gp;
  EXPECT_NE(gp.find("phase 1 (hidden-layer hints only) ends"), std::string::npos) << "the HLDF line is explained";
  fs::remove_all(fs::path(dir).parent_path());
}

// A small study on disk: NLL, and KD, HLDC, HLDF at six α (six points each in the scatter plot),
// with loss curves (HLDF with a hint phase).
std::string write_study(const std::string& root) {
  int i = 0;
  for (double alpha : {0.2, 0.3, 0.5, 0.6, 0.7, 0.9})
    for (const char* m : {"nll", "kd", "hldc", "hldf"}) {
      if (std::string(m) == "nll" && alpha != 0.2) continue;
      testing::FakeRun r;
      r.method = m;
      r.alpha = alpha;
      const double end = 4.0 - 0.05 * i++;
      r.metrics = {{"valid", end}};
      std::vector<double> valid;
      for (int k = 0; k < 12; ++k) valid.push_back(end + 1.5 * std::exp(-0.3 * k));
      testing::write_curve_run(root + "/" + m + "_a" + std::to_string(alpha), r, valid, 1e11,
                               std::string(m) == "hldf" ? 4 : 0);
    }
  return root;
}

TEST(ReportFigures, AStudyReportDrawsItsThreeFigureKinds) {
  REQUIRE_GNUPLOT();
  const std::string root = write_study(testing::make_temp_dir("figstudy"));
  ReportOptions opt;
  opt.out_dir = root + "/report";
  opt.bootstrap = 100;
  opt.strict = true;
  const auto res = report_dirs({root}, {}, opt);
  EXPECT_TRUE(res.figure_failures.empty());
  ASSERT_EQ(res.figures.size(), 3u);  // curves, histogram and scatter of the held-out loss
  const std::string figs = opt.out_dir + "/figures/";
  expect_panels(figs + "student_tiny_curves.png", kCurveFigure, 2, {"nll", "kd", "hldc", "hldf"});
  expect_panels(figs + "student_tiny_valid_hist.png", kComparisonFigure, 1, {"hldc", "hldf"});
  expect_panels(figs + "student_tiny_valid_scatter.png", kComparisonFigure, 1, {"nll", "hldc", "hldf"});
  const std::string md = util::read_file(opt.out_dir + "/report.md");
  for (const char* f : {"(figures/student_tiny_curves.png)", "(figures/student_tiny_valid_hist.png)",
                        "(figures/student_tiny_valid_scatter.png)"})
    EXPECT_NE(md.find(f), std::string::npos) << f;
  EXPECT_EQ(md.find("Not drawn"), std::string::npos);
  fs::remove_all(root);
}

TEST(ReportFigures, AFigureGnuplotFailsOnIsNamedAndStrictMakesItAnError) {
  // A stand-in gnuplot (no real one needed): "draws" every figure but the loss curves, on which it
  // fails with a message like gnuplot's.
  const std::string root = write_study(testing::make_temp_dir("figfail"));
  const std::string fake = root + "/fake-gnuplot";
  util::write_file_atomic(fake,
                          "#!/bin/sh\n[ \"$1\" = --version ] && exit 0\n[ \"$1\" = -e ] && exit 1\nname=${1%.gp}\n"
                          "case $name in *curves*) echo \"\\\"$1\\\" line 7: unexpected token\" >&2; exit 1 ;; esac\n"
                          "printf x > \"$name.png\"\n");
  fs::permissions(fake, fs::perms::owner_all);
  ReportOptions opt;
  opt.out_dir = root + "/report";
  opt.bootstrap = 100;
  opt.gnuplot = fake;
  // A picture from an earlier report must not pass for this one.
  fs::create_directories(opt.out_dir + "/figures");
  util::write_file_atomic(opt.out_dir + "/figures/student_tiny_curves.png", "old picture");

  const auto res = report_dirs({root}, {}, opt);
  ASSERT_EQ(res.figure_failures.size(), 1u);
  EXPECT_EQ(res.figure_failures[0].rfind("student_tiny_curves: gnuplot failed", 0), 0u) << res.figure_failures[0];
  EXPECT_NE(res.figure_failures[0].find("line 7: unexpected token"), std::string::npos) << res.figure_failures[0];
  EXPECT_NE(res.figure_failures[0].find("student_tiny_curves.gnuplot.log"), std::string::npos);
  EXPECT_FALSE(fs::exists(opt.out_dir + "/figures/student_tiny_curves.png"));
  EXPECT_EQ(res.figures.size(), 2u);  // the histogram and the scatter plot
  const std::string md = util::read_file(opt.out_dir + "/report.md");
  EXPECT_NE(md.find("**Not drawn**"), std::string::npos) << md;
  EXPECT_NE(md.find("`student_tiny_curves.png`: gnuplot failed"), std::string::npos) << md;

  opt.strict = true;
  fs::remove(opt.out_dir + "/report.md");
  try {
    report_dirs({root}, {}, opt);
    ADD_FAILURE() << "strict: a figure not drawn must be an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("student_tiny_curves"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(opt.out_dir + "/report.md")) << "the tables are written before strict fails";

  opt.gnuplot = root + "/no-such-gnuplot";
  EXPECT_THROW(report_dirs({root}, {}, opt), std::runtime_error);
  opt.strict = false;
  const auto none = report_dirs({root}, {}, opt);
  ASSERT_EQ(none.figure_failures.size(), 1u);
  EXPECT_NE(none.figure_failures[0].find("not found"), std::string::npos);
  fs::remove_all(root);
}

}  // namespace
}  // namespace hld::report
