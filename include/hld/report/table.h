// A plain text table rendered as GitHub Markdown or RFC 4180 CSV, and a CSV reader (for the
// paper's shipped results and for tests).
#pragma once

#include <string>
#include <vector>

namespace hld::report {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<bool>> bold;  ///< optional, same shape as rows: Markdown **bold** cells

  void add(std::vector<std::string> row, std::vector<bool> bold_cells = {});
  /// Markdown with right-aligned numeric columns; empty tables render as "_(no rows)_".
  std::string markdown() const;
  /// CSV with a header line; fields quoted when they hold a comma, quote or newline.
  std::string csv() const;
};

/// Parses CSV text (RFC 4180 quoting, LF or CRLF). `source` names the text in errors;
/// a row whose field count differs from the header's is an InputError naming the line.
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& source);

/// Number formatting used by the tables: "%.3f" for metrics, "—" when absent.
std::string fmt_metric(const double* v, int decimals = 3);
/// Shortest round-trip-ish format of a hyper-parameter ("0.0016", "0.7", "1", "0.05").
std::string fmt_hparam(double v);
/// printf-style formatting of one double.
std::string fmt(const char* format, double v);

}  // namespace hld::report
