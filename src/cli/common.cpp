// Config arguments shared by subcommands, and the version line.
#include "hld/cli/common.h"

#include <torch/torch.h>
#include <torch/version.h>

#include "hld/config/loader.h"
#include "hld/util/version.h"

namespace hld::cli {

config::ExperimentConfig ConfigArgs::load() const { return config::load(path, sets); }

void add_config_args(CLI::App* sub, ConfigArgs& args) {
  sub->add_option("CONFIG", args.path, "experiment or model YAML")->required();
  sub->add_option("--set", args.sets, "override a config value: --set optimizer.lr=1e-3 (repeatable)")
      ->allow_extra_args(false);
}

std::string version_string() {
  std::string s = std::string("hld-train ") + util::version() + " (" + util::git_revision() + "), LibTorch " +
                  TORCH_VERSION + ", CUDA " + (torch::cuda::is_available() ? "available" : "not available");
  return s;
}

}  // namespace hld::cli
