// The loss-curve figure per model (curves.h), drawn with gnuplot: held-out loss (left panel) and
// the student's train NLL (right panel) against training FLOPs, one line per method's best point
// (mean over seeds, with its min–max band), and a dashed vertical line, explained in the legend,
// where HLDF's first phase (hidden-layer hints only) ends and its KD phase begins.
#pragma once

#include <string>
#include <vector>

#include "hld/report/curves.h"
#include "hld/report/gnuplot.h"

namespace hld::report {

/// Size of a loss-curve PNG (two panels side by side).
inline constexpr FigureSize kCurveFigure{1400, 620};

/// Writes `dir/<model>_curves.png` (with `<model>_curves.gp` and `<model>_curves_<i>.dat`) for
/// every model with a curve that has points. Figures gnuplot fails on are returned in `failed`.
FigureSet write_curve_figures(const std::vector<Curve>& curves, const std::string& dir,
                              const std::string& gnuplot = "gnuplot");

}  // namespace hld::report
