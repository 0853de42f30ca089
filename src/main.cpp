// hld-train: one binary, many subcommands. main() only wires CLI11 to the command modules and
// maps errors to exit codes (0 ok, 2 bad input, 75 stopped with work saved or a peer/network
// failure: rerun to resume, 1 anything else).
#include <spdlog/spdlog.h>

#include <iostream>

#include "hld/cli/common.h"
#include "hld/runtime/runtime.h"
#include "hld/util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"hld-train: compute-matched hidden-layer distillation for LLM pre-training"};
  app.require_subcommand(1);
  app.set_version_flag("--version", hld::cli::version_string());
  hld::cli::Action action;
  hld::cli::register_info(app, action);
  hld::cli::register_tokenizer(app, action);
  hld::cli::register_prepare(app, action);
  hld::cli::register_train(app, action);
  hld::cli::register_cache_teacher(app, action);
  hld::cli::register_eval(app, action);
  hld::cli::register_flops(app, action);
  hld::cli::register_bench(app, action);
  hld::cli::register_report(app, action);
  hld::cli::register_hf(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? hld::kExitOk : hld::kExitBadInput;
  }
  hld::runtime::use_all_cpus();
  hld::runtime::cache_large_cpu_allocations();
  try {
    return action ? action() : hld::kExitFailure;
  } catch (const hld::InputError& e) {
    spdlog::error("{}", e.what());
    return hld::kExitBadInput;
  } catch (const hld::RetryableError& e) {
    spdlog::error("{} (exit code {}: rerun the same command to resume)", e.what(), int(hld::kExitRequeue));
    return hld::kExitRequeue;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return hld::kExitFailure;
  }
}
