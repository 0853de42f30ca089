// `hld-train report`: aggregate run folders into paper-style tables and figures.
#include "hld/cli/common.h"

#include <spdlog/spdlog.h>

namespace hld::cli {

void register_report(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("report", "aggregate run folders into paper-style tables and figures");
  sub->allow_extras();
  sub->callback([&action] {
    action = [] {
      spdlog::error("report: not yet available in this build");
      return 1;
    };
  });
}

}  // namespace hld::cli
