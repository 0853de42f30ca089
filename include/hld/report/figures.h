// PNG figures of the pointwise comparisons (compare.h), per model and metric, drawn with gnuplot
// (Debian's gnuplot-nox): a histogram of Δ = method − KD over the shared hyper-parameter points
// (the paper's Figures 2–4 plot −Δ, "improvement over KD") and a scatter plot of each method's
// value against KD's at the same point (Figures 5–7). Each PNG has its .gp script and .dat files
// beside it, so that `gnuplot NAME.gp` in the folder redraws it.
#pragma once

#include <string>
#include <vector>

#include "hld/report/compare.h"
#include "hld/report/gnuplot.h"

namespace hld::report {

/// Size of the histogram and scatter PNGs.
inline constexpr FigureSize kComparisonFigure{900, 640};

/// Writes `dir/<model>_<metric>_hist.png` and `dir/<model>_<metric>_scatter.png` for every
/// (model, metric) with comparisons of the paper's methods (variants have their rows in the
/// tables, not in these figures). Figures gnuplot fails on are returned in `failed`, named.
FigureSet write_figures(const std::vector<Comparison>& comps, const std::string& dir,
                        const std::string& gnuplot = "gnuplot");

}  // namespace hld::report
