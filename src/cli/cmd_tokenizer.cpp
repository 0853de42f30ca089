// `hld-train tokenizer`: train, encode and decode a SentencePiece tokenizer.
#include "hld/cli/common.h"

#include <spdlog/spdlog.h>

namespace hld::cli {

void register_tokenizer(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("tokenizer", "train, encode and decode a SentencePiece tokenizer");
  sub->allow_extras();
  sub->callback([&action] {
    action = [] {
      spdlog::error("tokenizer: not yet available in this build");
      return 1;
    };
  });
}

}  // namespace hld::cli
