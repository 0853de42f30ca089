// Running gnuplot for the report's figures: every string a figure script contains (titles, axis
// labels, legend entries, model and variant names) goes through gp_string(), so that no label can
// break the script, and every figure is drawn by its own gnuplot process, so that a failure names
// the figure it spoiled instead of leaving a half-drawn PNG behind a generic warning.
#pragma once

#include <string>
#include <vector>

namespace hld::report {

/// Pixel size of a PNG figure.
struct FigureSize {
  int width = 0, height = 0;
};

/// `s` as a gnuplot single-quoted string literal that prints `s`: an apostrophe is doubled (the
/// only escape gnuplot has inside single quotes), control characters (newlines, tabs) become
/// spaces. Backslashes, double quotes, `@`, `_`, `^`, `{}` stay literal because the figures use a
/// `noenhanced` terminal and single quotes (no backslash escapes, no macros). UTF-8 stays as it is,
/// except a character no installed font has (fontconfig's `fc-list` is asked) and bytes that are
/// not UTF-8, which become '?': cairo draws a missing glyph as a box scaled to cover the figure.
std::string gp_string(const std::string& s);

/// `s` with control characters (newlines, tabs, ...) turned into spaces: safe inside one `#`
/// comment line of a script or data file.
std::string one_line(const std::string& s);

/// A POSIX shell single-quoted word for `s`.
std::string shell_quote(const std::string& s);

/// Whether `gnuplot` runs (`gnuplot --version` succeeds).
bool gnuplot_available(const std::string& gnuplot = "gnuplot");

/// The script lines that open a PNG figure of `size`: the pngcairo terminal when this gnuplot has
/// it (else the plain png one), `noenhanced` text, UTF-8, and `set output` to `png_name`.
std::string gp_open_png(const std::string& gnuplot, FigureSize size, const std::string& png_name);

/// Outcome of drawing one figure.
struct FigureOutcome {
  std::string name;   ///< the figure, e.g. "student_curves"
  std::string png;    ///< dir/<name>.png
  bool ok = false;    ///< gnuplot exited 0 and the PNG exists and is not empty
  std::string error;  ///< when !ok: what went wrong, with the log file to read
};

/// The figures one writer drew, and the ones it could not (each named, with its log).
struct FigureSet {
  std::vector<std::string> made;      ///< PNGs drawn
  std::vector<FigureOutcome> failed;  ///< figures gnuplot did not draw
  void add(FigureOutcome o) {
    if (o.ok)
      made.push_back(o.png);
    else
      failed.push_back(std::move(o));
  }
};

/// Writes `script` to `dir/<name>.gp` and runs gnuplot on it in `dir` (the script names its data
/// files relative to `dir`), drawing `dir/<name>.png`. A PNG left over from an earlier report is
/// removed first, so that an old picture never passes for a new one. gnuplot's messages go to
/// `dir/<name>.gnuplot.log`, which is removed again when it is empty.
FigureOutcome draw_figure(const std::string& dir, const std::string& name, const std::string& script,
                          const std::string& gnuplot = "gnuplot");

/// The colour of a method in every figure ("#rrggbb"): NLL purple, KD red, HLDC blue, HLDF
/// green, anything else black. Saturated and far apart in hue, so that a reader (and the figure
/// tests) can tell the series apart.
std::string method_color(const std::string& method);

/// A file-name-safe form of `s`: [A-Za-z0-9._-] kept, other bytes → '_'; when anything was
/// replaced, a short hash of `s` is appended so that two names differing only in replaced
/// characters (e.g. two non-ASCII model names) do not share a file.
std::string safe_name(const std::string& s);

}  // namespace hld::report
