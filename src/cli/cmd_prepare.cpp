// `hld-train prepare`: raw text (C4 .json.gz, .jsonl, .txt) -> token shards.
#include "hld/cli/common.h"

#include <spdlog/spdlog.h>

namespace hld::cli {

void register_prepare(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("prepare", "raw text (C4 .json.gz, .jsonl, .txt) -> token shards");
  sub->allow_extras();
  sub->callback([&action] {
    action = [] {
      spdlog::error("prepare: not yet available in this build");
      return 1;
    };
  });
}

}  // namespace hld::cli
