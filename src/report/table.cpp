// Markdown/CSV rendering of report tables and a small CSV reader.
#include "hld/report/table.h"

#include <cstdio>
#include <sstream>

#include "hld/util/error.h"
#include "hld/util/format.h"

namespace hld::report {
namespace {

bool numeric(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

}  // namespace

void Table::add(std::vector<std::string> row, std::vector<bool> bold_cells) {
  row.resize(header.size());
  bold_cells.resize(row.size(), false);
  rows.push_back(std::move(row));
  bold.push_back(std::move(bold_cells));
}

std::string Table::markdown() const {
  if (header.empty()) return "";
  std::ostringstream o;
  o << "|";
  for (const auto& h : header) o << " " << md_cell(h) << " |";
  o << "\n|";
  for (size_t c = 0; c < header.size(); ++c) {
    bool num = !rows.empty();
    for (const auto& r : rows)
      if (c < r.size() && !r[c].empty() && r[c] != "—" && !numeric(r[c])) num = false;
    o << (num ? "---:|" : "---|");
  }
  o << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    o << "|";
    for (size_t c = 0; c < header.size(); ++c) {
      const std::string cell = c < rows[i].size() ? md_cell(rows[i][c]) : "";
      const bool b = i < bold.size() && c < bold[i].size() && bold[i][c] && !cell.empty();
      o << " " << (b ? "**" + cell + "**" : cell) << " |";
    }
    o << "\n";
  }
  if (rows.empty()) o << "\n_(no rows)_\n";
  return o.str();
}

std::string Table::csv() const {
  std::ostringstream o;
  for (size_t c = 0; c < header.size(); ++c) o << (c ? "," : "") << csv_field(header[c]);
  o << "\n";
  for (const auto& r : rows) {
    for (size_t c = 0; c < header.size(); ++c) o << (c ? "," : "") << csv_field(c < r.size() ? r[c] : "");
    o << "\n";
  }
  return o.str();
}

std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& source) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  size_t line = 1, row_line = 1;
  auto end_row = [&] {
    row.push_back(field);
    field.clear();
    if (!(row.size() == 1 && row[0].empty() && !any)) {
      if (!rows.empty() && row.size() != rows[0].size())
        throw InputError(source + ":" + std::to_string(row_line) + ": " + std::to_string(row.size()) +
                         " fields, expected " + std::to_string(rows[0].size()) + " (as the header)");
      rows.push_back(row);
    }
    row.clear();
    any = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = any = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      row_line = ++line;
    } else {
      field += c;
      any = true;
    }
  }
  if (quoted) throw InputError(source + ":" + std::to_string(row_line) + ": unterminated quoted field");
  if (any || !field.empty()) end_row();
  return rows;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string fmt_metric(const double* v, int decimals) {
  if (!v) return "—";
  char f[16];
  std::snprintf(f, sizeof f, "%%.%df", decimals);
  return fmt(f, *v);
}

std::string fmt_hparam(double v) { return util::format_g(v); }

}  // namespace hld::report
