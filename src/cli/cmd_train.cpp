// `hld-train train CONFIG`: one training run (NLL, KD, HLDC or HLDF), resuming when the run
// folder already has a checkpoint.
#include <spdlog/spdlog.h>

#include <memory>

#include "hld/cli/common.h"
#include "hld/config/stop_conditions.h"
#include "hld/runtime/runtime.h"
#include "hld/runtime/stop_signals.h"
#include "hld/train/trainer.h"
#include "hld/util/error.h"

namespace hld::cli {
namespace {

struct TrainArgs {
  ConfigArgs cfg;
  int64_t stop_after = -1;
  bool quiet = false;
};

}  // namespace

void register_train(CLI::App& app, Action& action) {
  auto args = std::make_shared<TrainArgs>();
  auto* sub = app.add_subcommand("train", "one training run (NLL, KD, HLDC or HLDF) under the FLOPs budget");
  add_config_args(sub, args->cfg);
  sub->add_option("--stop-after-steps", args->stop_after, "checkpoint and stop after this many optimizer steps");
  sub->add_flag("--quiet", args->quiet, "no progress lines");
  sub->callback([&action, args] {
    action = [args] {
      auto cfg = args->cfg.load();
      // Before the rendezvous starts any thread: a signal from now on stops at the next step.
      runtime::install_stop_signals(config::parse_exit_signals(cfg.run.exit_signals, "run.exit_signals"));
      auto coll = dist::from_environment(runtime::resolve_device(cfg.run.device));
      train::TrainOptions o;
      o.collective = coll.get();
      o.stop_after_steps = args->stop_after;
      o.quiet = args->quiet;
      const auto r = train::run_training(cfg, o);
      return r.stopped.empty() ? kExitOk : kExitRequeue;
    };
  });
}

}  // namespace hld::cli
