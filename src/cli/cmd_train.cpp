// `hld-train train`: one training run (NLL, KD, HLDC or HLDF).
#include "hld/cli/common.h"

#include <spdlog/spdlog.h>

namespace hld::cli {

void register_train(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("train", "one training run (NLL, KD, HLDC or HLDF)");
  sub->allow_extras();
  sub->callback([&action] {
    action = [] {
      spdlog::error("train: not yet available in this build");
      return 1;
    };
  });
}

}  // namespace hld::cli
