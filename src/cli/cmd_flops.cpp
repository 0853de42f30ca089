// `hld-train flops CONFIG`: the FLOPs budget plan of an experiment config — parameter counts,
// per-token costs of the four objectives and their ratios to C_data, tokens and steps per phase,
// a wall-clock estimate at a given throughput, and the memory estimate the trainer's resource check
// uses for one process on the configured device (`--json` for machines).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "hld/budget/plan.h"
#include "hld/cli/common.h"
#include "hld/runtime/runtime.h"
#include "hld/teacher/teacher.h"
#include "hld/train/resources.h"
#include "hld/util/compat.h"
#include "hld/util/error.h"

namespace hld::cli {
namespace {

struct FlopsArgs {
  ConfigArgs cfg;
  bool json = false;
  double throughput = 0;  // NLL-equivalent training tokens/s, all ranks together
  int world_size = 1;
};

int run_flops(const FlopsArgs& a) {
  HLD_INPUT_CHECK(a.throughput >= 0, "--throughput: expected a non-negative tokens/s value");
  const auto c = a.cfg.load();
  // The teacher's shape may come from teacher.checkpoint rather than teacher.model.
  std::optional<config::ModelConfig> teacher;
  if (c.needs_teacher() && (c.teacher.model || !c.teacher.checkpoint.empty())) teacher = teacher::teacher_shape(c);
  const auto p = budget::plan(c, a.world_size, teacher ? &*teacher : nullptr);
  const bool cuda = runtime::resolve_device(c.run.device).is_cuda();
  const auto mem = train::estimate_training_memory(c, teacher ? &*teacher : nullptr, compat::kHasSdpa && cuda);
  if (a.json) {
    auto j = budget::to_json(p, a.throughput);
    j["config"] = a.cfg.path;
    j["model"] = c.model.name;
    j["memory_estimate"] = {{"device", cuda ? "cuda" : "cpu"},   {"weights", mem.weights},
                            {"optimizer", mem.optimizer},        {"activations", mem.activations},
                            {"logits", mem.logits},              {"teacher", mem.teacher},
                            {"validation", mem.validation},      {"total", mem.total()}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("hld-train flops: %s (student %s)\n", a.cfg.path.c_str(), c.model.name.c_str());
    std::printf("%s", budget::format_plan(p, a.throughput).c_str());
    std::printf("memory (one process, %s): %s\n", cuda ? "cuda" : "cpu", mem.describe().c_str());
  }
  return kExitOk;
}

}  // namespace

void register_flops(CLI::App& app, Action& action) {
  auto args = std::make_shared<FlopsArgs>();
  auto* sub =
      app.add_subcommand("flops", "print the FLOPs budget plan: per-token costs, ratios, tokens and steps per phase");
  add_config_args(sub, args->cfg);
  sub->add_flag("--json", args->json, "print JSON (params.*, cost_per_token.*, ratio.*, phases[], total.*)");
  sub->add_option("--throughput", args->throughput,
                  "NLL-equivalent training tokens/s (all ranks) for a wall-clock estimate");
  sub->add_option("--world-size", args->world_size, "data-parallel ranks (global batch = batch_size × ranks)")
      ->check(CLI::PositiveNumber);
  sub->callback([&action, args] { action = [args] { return run_flops(*args); }; });
}

}  // namespace hld::cli
