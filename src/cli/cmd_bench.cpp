// `hld-train bench`: time optimizer steps: tokens/s, MFU, memory.
#include "hld/cli/common.h"

#include <spdlog/spdlog.h>

namespace hld::cli {

void register_bench(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("bench", "time optimizer steps: tokens/s, MFU, memory");
  sub->allow_extras();
  sub->callback([&action] {
    action = [] {
      spdlog::error("bench: not yet available in this build");
      return 1;
    };
  });
}

}  // namespace hld::cli
