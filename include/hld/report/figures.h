// PNG figures with gnuplot (Debian's gnuplot-nox): per model and metric, a histogram of the
// improvement over KD at shared hyper-parameters (paper Figures 2–4) and a KD-vs-method scatter
// plot (Figures 5–7). The data files and the gnuplot script are kept beside the PNGs.
#pragma once

#include <string>
#include <vector>

#include "hld/report/compare.h"
#include "hld/report/curves.h"

namespace hld::report {

/// Whether `gnuplot` runs (`gnuplot --version` succeeds).
bool gnuplot_available(const std::string& gnuplot = "gnuplot");

/// Writes `dir/<model>_<metric>_hist.png` and `dir/<model>_<metric>_scatter.png` for every
/// (model, metric) with comparisons, plus their `.dat` files and `plot.gp`. Returns the PNGs
/// that exist afterwards. A failing gnuplot is logged as a warning (tables do not depend on it).
std::vector<std::string> write_figures(const std::vector<Comparison>& comps, const std::string& dir,
                                       const std::string& gnuplot = "gnuplot");

/// Writes `dir/<model>_curves.png` per model: held-out loss (left) and train NLL (right) against
/// training FLOPs, one line per curve (mean over seeds) with its min–max band, HLDF's phase
/// boundary as a dashed vertical line; plus `<model>_curves_<i>.dat` and `curves.gp`. Returns the
/// PNGs that exist afterwards.
std::vector<std::string> write_curve_figures(const std::vector<Curve>& curves, const std::string& dir,
                                             const std::string& gnuplot = "gnuplot");

/// A file-name-safe form of `s` ([A-Za-z0-9._-], others → '_').
std::string safe_name(const std::string& s);

}  // namespace hld::report
