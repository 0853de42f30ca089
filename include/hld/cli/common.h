// Shared plumbing for subcommands: the CONFIG argument with `--set` overrides, and the table of
// subcommand registrations that main() wires to CLI11.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hld/config/experiment.h"
#include "hld/util/error.h"

namespace hld::cli {

/// A config path plus `--set a.b=c` overrides, as every config-taking command accepts them.
struct ConfigArgs {
  std::string path;
  std::vector<std::string> sets;
  config::ExperimentConfig load() const;
};

/// Adds `CONFIG` (positional) and `--set` to `sub`.
void add_config_args(CLI::App* sub, ConfigArgs& args);

/// The action a subcommand runs after parsing; returns the process exit code.
using Action = std::function<int()>;

/// Each subcommand registers itself on `app` and stores its action in `action` when selected.
void register_info(CLI::App& app, Action& action);
void register_tokenizer(CLI::App& app, Action& action);
void register_prepare(CLI::App& app, Action& action);
void register_train(CLI::App& app, Action& action);
void register_cache_teacher(CLI::App& app, Action& action);
void register_eval(CLI::App& app, Action& action);
void register_flops(CLI::App& app, Action& action);
void register_bench(CLI::App& app, Action& action);
void register_report(CLI::App& app, Action& action);
void register_hf(CLI::App& app, Action& action);  // import-hf, export-hf, verify-hf

/// Version line: hld-train version, git revision, LibTorch version, CUDA availability.
std::string version_string();

}  // namespace hld::cli
