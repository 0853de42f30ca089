// `hld-train eval`: perplexity and multiple-choice evaluation -> eval JSON.
#include "hld/cli/common.h"

#include <spdlog/spdlog.h>

namespace hld::cli {

void register_eval(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("eval", "perplexity and multiple-choice evaluation -> eval JSON");
  sub->allow_extras();
  sub->callback([&action] {
    action = [] {
      spdlog::error("eval: not yet available in this build");
      return 1;
    };
  });
}

}  // namespace hld::cli
