// Readers for the compiled-in paper tables (see hld/report/paper_results.h).
#include "hld/report/paper_results.h"

#include <cctype>
#include <cstdlib>

#include "hld/report/metrics.h"
#include "hld/report/table.h"
#include "hld/util/error.h"

namespace hld::report {
namespace {

double parse_number(const std::string& s, const std::string& where) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || !end || *end != '\0') throw InputError(where + ": '" + s + "' is not a number");
  return v;
}

size_t column(const std::vector<std::string>& header, const std::string& name, const std::string& file) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  throw InputError(file + ": no column '" + name + "'");
}

}  // namespace

const std::string& paper_csv(const std::string& file) {
  for (const auto& [name, text] : paper_csv_files())
    if (name == file) return text;
  throw InputError("no shipped paper table '" + file + "'");
}

std::string paper_size(const std::string& size) {
  std::string s;
  for (char c : size) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  HLD_INPUT_CHECK(s == "123m" || s == "735m", "--compare-paper '" + size + "': expected 123m or 735m");
  return s;
}

std::vector<RunRecord> paper_runs(const std::string& size) {
  const std::string sz = paper_size(size);
  const std::string file = sz == "123m" ? "table4_123m.csv" : "table5_735m.csv";
  const auto rows = parse_csv(paper_csv(file), file);
  HLD_INPUT_CHECK(!rows.empty(), file + ": empty");
  const auto& h = rows[0];
  std::vector<RunRecord> out;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const std::string where = file + ":" + std::to_string(i + 1);
    auto num = [&](const char* col) {
      const std::string& s = r[column(h, col, file)];
      return s.empty() ? 0.0 : parse_number(s, where);
    };
    RunRecord rec;
    rec.dir = "paper:" + where;
    rec.method = r[column(h, "method", file)];
    rec.model = "paper_" + sz;
    rec.lr = num("lr");
    rec.alpha = num("alpha");
    rec.temperature = num("temperature");
    rec.gamma = num("gamma");
    rec.p1 = num("p1");
    rec.finished = true;
    for (const auto& id : paper_metric_ids()) {
      const std::string& s = r[column(h, id, file)];
      if (!s.empty()) rec.metrics[id] = parse_number(s, where);
    }
    out.push_back(std::move(rec));
  }
  return out;
}

std::vector<PaperBestRow> paper_table2(const std::string& size) {
  const std::string sz = paper_size(size);
  const auto rows = parse_csv(paper_csv("table2.csv"), "table2.csv");
  const auto& h = rows.at(0);
  std::vector<PaperBestRow> out;
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i][column(h, "size", "table2.csv")] != sz) continue;
    PaperBestRow row;
    row.method = rows[i][column(h, "method", "table2.csv")];
    for (size_t c = 0; c < h.size(); ++c) {
      if (h[c] == "size" || h[c] == "method" || rows[i][c].empty()) continue;
      row.metrics[h[c]] = parse_number(rows[i][c], "table2.csv:" + std::to_string(i + 1));
    }
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace hld::report
