// The "Beside the paper" section of report.md (`report --compare-paper 123m|735m`): our best point
// per method next to the paper's Table 2, our sign counts over the shared grid next to the ones
// its Table 4/5 gives (in the report's Δ convention, compare.h), and every grid point the two
// share, with its C4 log-perplexity from both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hld/report/runs.h"
#include "hld/report/table.h"

namespace hld::report {

struct PaperSection {
  std::string markdown;
  Table csv;  ///< paper_comparison.csv rows: the shared grid points, every metric ours and the paper's
};

/// The section for one model's points `ours`, selected by `metric` ("" → C4), with the Teacher row
/// from `teacher` when given; `size` is "123m" or "735m" (paper_size()).
PaperSection paper_section(const std::vector<Point>& ours, const std::string& model, const std::string& metric,
                           const Point* teacher, const std::string& size, int bootstrap, uint64_t seed);

}  // namespace hld::report
