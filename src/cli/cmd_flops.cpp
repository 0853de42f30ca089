// `hld-train flops CONFIG`: the FLOPs budget plan of an experiment config — parameter counts,
// per-token costs of the four objectives and their ratios to C_data, tokens and steps per phase,
// a wall-clock estimate at a given throughput, and the memory estimate the trainer's resource check
// uses for one process on the configured device (`--json` for machines).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "hld/budget/pair_costs.h"
#include "hld/budget/plan.h"
#include "hld/cli/common.h"
#include "hld/spec/objective.h"
#include "hld/runtime/runtime.h"
#include "hld/teacher/teacher.h"
#include "hld/train/resources.h"
#include "hld/util/error.h"

namespace hld::cli {
namespace {

struct FlopsArgs {
  ConfigArgs cfg;
  bool json = false;
  double throughput = 0;  // NLL-equivalent training tokens/s, all ranks together
  int world_size = 1;
  std::string for_device;  // "": the configured device; cpu | cuda: estimate memory for that kind
};

int run_flops(const FlopsArgs& a) {
  HLD_INPUT_CHECK(a.throughput >= 0, "--throughput: expected a non-negative tokens/s value");
  const auto c = a.cfg.load();
  // The teacher's shape may come from teacher.checkpoint rather than teacher.model.
  std::optional<config::ModelConfig> teacher;
  if (c.needs_teacher() && (c.teacher.model || !c.teacher.checkpoint.empty())) teacher = teacher::teacher_shape(c);
  const auto p = budget::plan(c, a.world_size, teacher ? &*teacher : nullptr);
  HLD_INPUT_CHECK(a.for_device.empty() || a.for_device == "cpu" || a.for_device == "cuda",
                  "--for-device: expected cpu or cuda");
  // --for-device cuda: a CUDA build's estimate (fused attention) from any machine.
  const bool cuda = a.for_device.empty() ? runtime::resolve_device(c.run.device).is_cuda() : a.for_device == "cuda";
  // Per rank of --world-size ranks: the configured run first, then with/without ZeRO-1 and
  // activation checkpointing (train/resources.h).
  const auto alts = train::memory_alternatives(c, teacher ? &*teacher : nullptr, cuda, a.world_size);
  const auto& mem = alts.front();
  const auto& o = c.objective;
  const std::string variant = config::variant_label(c);
  nlohmann::json kd_term;  // the distillation term's configuration (null for NLL)
  if (c.needs_teacher())
    kd_term = {{"divergence", config::to_string(o.divergence)},
               {"tail", config::to_string(o.tail)},
               {"teacher_logits", config::to_string(c.teacher.logits)},
               {"top_k", o.top_k},
               {"temperature", o.temperature},
               {"alpha", o.alpha},
               {"variant", variant}};
  if (a.json) {
    auto j = budget::to_json(p, a.throughput);
    j["config"] = a.cfg.path;
    j["model"] = c.model.name;
    j["kd_term"] = kd_term;
    j["memory_estimate"] = train::to_json(mem);
    j["memory_estimate"]["device"] = cuda ? "cuda" : "cpu";
    if (spec::of(c.objective.name).uses_regressor())  // every hidden pair's regressor, counted in C_HLDC / C_HT
      j["hidden_pairs"] = budget::to_json(budget::pair_costs(c, c.objective.name, teacher ? &*teacher : nullptr));
    j["memory_alternatives"] = nlohmann::json::array();
    for (const auto& e : alts) j["memory_alternatives"].push_back(train::to_json(e));
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("hld-train flops: %s (student %s)\n", a.cfg.path.c_str(), c.model.name.c_str());
    if (c.needs_teacher())
      std::printf("KD term     %s on the teacher's %s %lld (tail %s), tau %g, alpha %g: %s\n",
                  config::to_string(o.divergence),
                  c.teacher.logits == config::TeacherLogits::kSampled ? "sampled ids, draws" : "top-k, k",
                  (long long)o.top_k, config::to_string(o.tail), o.temperature, o.alpha,
                  variant.empty() ? "the paper's" : ("variant: " + variant).c_str());
    std::printf("%s", budget::format_plan(p, a.throughput).c_str());
    if (spec::of(c.objective.name).uses_regressor() && (teacher || c.teacher.model))
      std::printf("%s", budget::format_pair_costs(
                            budget::pair_costs(c, c.objective.name, teacher ? &*teacher : nullptr), c.objective.name)
                            .c_str());
    std::printf("memory (one of %d process(es), %s): %s\n", a.world_size, cuda ? "cuda" : "cpu",
                mem.describe().c_str());
    std::printf("memory per rank, alternatives:\n%s", train::describe_alternatives(alts, 0).c_str());
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
  sub->add_option("--for-device", args->for_device,
                  "memory estimate for cpu or cuda (cuda: fused attention) instead of run.device");
  sub->callback([&action, args] { action = [args] { return run_flops(*args); }; });
}

}  // namespace hld::cli
