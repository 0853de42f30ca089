// The paper's published numbers (Tables 2, 4, 5) as data: the CSV files of
// configs/paper/results/, compiled in, and readers that turn them into RunRecords / best rows so
// that `report --compare-paper` sets a run set beside them with the same table code.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hld/report/runs.h"

namespace hld::report {

/// (file name, CSV text) of table2.csv, table4_123m.csv, table5_735m.csv.
const std::vector<std::pair<std::string, std::string>>& paper_csv_files();

/// CSV text of one shipped file ("table2.csv", ...); InputError for an unknown name.
const std::string& paper_csv(const std::string& file);

/// Normalises a size argument ("123m", "123M", "735m"); InputError unless one of the two.
std::string paper_size(const std::string& size);

/// Every run of Table 4 (123m) or Table 5 (735m) as a finished RunRecord with model
/// "paper_<size>" and dir "paper:<file>:<line>".
std::vector<RunRecord> paper_runs(const std::string& size);

/// One row of Table 2 (method: random, teacher, nll, kd, hldc, hldf).
struct PaperBestRow {
  std::string method;
  std::map<std::string, double> metrics;  ///< metric id → value (absent: "—" in the paper)
};
std::vector<PaperBestRow> paper_table2(const std::string& size);

}  // namespace hld::report
