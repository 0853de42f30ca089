// `hld-train cache-teacher`: write the teacher's top-k logits and hint-layer states.
#include "hld/cli/common.h"

#include <spdlog/spdlog.h>

namespace hld::cli {

void register_cache_teacher(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("cache-teacher", "write the teacher's top-k logits and hint-layer states");
  sub->allow_extras();
  sub->callback([&action] {
    action = [] {
      spdlog::error("cache-teacher: not yet available in this build");
      return 1;
    };
  });
}

}  // namespace hld::cli
