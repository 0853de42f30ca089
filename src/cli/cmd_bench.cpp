// `hld-train bench CONFIG`: times optimizer steps of the configured objective.
#include <cstdio>
#include <memory>

#include "hld/bench/bench.h"
#include "hld/cli/common.h"
#include "hld/util/error.h"

namespace hld::cli {
namespace {

struct BenchArgs {
  ConfigArgs cfg;
  bench::BenchOptions opts;
  bool json = false;
};

}  // namespace

void register_bench(CLI::App& app, Action& action) {
  auto args = std::make_shared<BenchArgs>();
  auto* sub = app.add_subcommand("bench", "time optimizer steps: tokens/s, MFU, time split, peak memory");
  add_config_args(sub, args->cfg);
  sub->add_option("--steps", args->opts.steps, "timed optimizer steps")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--warmup", args->opts.warmup, "untimed warm-up steps")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  sub->add_option("--phase", args->opts.phase, "start at this phase of the budget plan (HLDF: 1 = its KD phase)")
      ->capture_default_str()
      ->check(CLI::Range(0, 16));
  sub->add_option("--profile", args->opts.profile,
                  "write a Chrome trace (chrome://tracing, Perfetto) of the timed steps");
  sub->add_flag("--json", args->json, "print JSON");
  sub->callback([&action, args] {
    action = [args] {
      auto r = bench::run_bench(args->cfg.load(), args->opts);
      std::printf("%s", args->json ? (r.dump(2) + "\n").c_str() : bench::format_bench(r).c_str());
      return kExitOk;
    };
  });
}

}  // namespace hld::cli
