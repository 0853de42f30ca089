// `hld-train flops`: print the FLOPs budget plan.
#include "hld/cli/common.h"

#include <spdlog/spdlog.h>

namespace hld::cli {

void register_flops(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("flops", "print the FLOPs budget plan");
  sub->allow_extras();
  sub->callback([&action] {
    action = [] {
      spdlog::error("flops: not yet available in this build");
      return 1;
    };
  });
}

}  // namespace hld::cli
