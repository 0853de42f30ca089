// `hld-train cache-teacher CONFIG`: write the teacher's top-k logits and hint-layer states for
// the sequences a run will read (teacher.cache), or with --verify re-read and check a cache.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "hld/budget/costs.h"
#include "hld/teacher/teacher.h"
#include "hld/dist/launch_env.h"
#include "hld/cli/common.h"
#include "hld/config/stop_conditions.h"
#include "hld/runtime/stop_signals.h"
#include "hld/util/fs.h"
#include "hld/teacher/cache_verify.h"
#include "hld/teacher/cache_writer.h"
#include "hld/util/error.h"

namespace hld::cli {
namespace {

struct CacheArgs {
  ConfigArgs cfg;
  bool verify = false;
  bool json = false;
  int64_t sequences = 0;
  int64_t chunk_sequences = 256;
  int64_t batch = 0;
  int64_t sample = 4;
  std::string student;
  int64_t stop_after_chunks = -1;
  int world = 0;
  bool quiet = false;
};

int run_verify(const CacheArgs& a, const config::ExperimentConfig& cfg) {
  teacher::VerifyOptions o;
  o.sample_sequences = a.sample;
  o.student = a.student;
  const auto rep = teacher::verify_teacher_cache(cfg, o);
  if (a.json) {
    std::printf("%s\n", rep.to_json().dump(2).c_str());
  } else {
    std::printf("cache '%s': %lld of %lld chunks verified, %s, %.1f bytes/token on disk (%lld in records)\n",
                cfg.teacher.cache.c_str(), (long long)rep.chunks_ok, (long long)rep.chunks_planned,
                util::human_bytes(double(rep.chunk_bytes)).c_str(), rep.bytes_per_token,
                (long long)rep.record_bytes_per_token);
    for (const auto& e : rep.errors) std::printf("  error: %s\n", e.c_str());
    if (rep.sample_tokens > 0) {
      std::printf("sample: %lld sequences, %lld tokens vs a fresh teacher forward\n", (long long)rep.sample_sequences,
                  (long long)rep.sample_tokens);
      const std::string who = a.student.empty() ? "initial student" : "student " + a.student;
      if (rep.sampled) {
        std::printf("  draws identical to a fresh sampling on %.4f of tokens\n", rep.topk_same_set);
        std::printf("  KD loss, %s: full vocabulary %.6g sampled estimate %.6g (rel. diff %.3g)\n", who.c_str(),
                    rep.kd_fresh, rep.kd_cached, rep.kd_rel_diff);
        // (the full KL of the teacher against itself is 0: the estimate is the absolute difference)
        std::printf(
            "  KD loss, teacher as student: full vocabulary 0 sampled estimate %.3g (the cached values' "
            "rounding)\n",
            rep.kd_self_cached);
        std::printf(
            "  estimator error (sampled - full-vocabulary KD, per token): %+.4g +- %.2g (1 SE); "
            "top-k renormalised at the same k: %+.4g\n",
            rep.estimator_error, rep.estimator_se, rep.topk_bias);
      } else {
        std::printf("  top-k ids identical on %.4f of tokens; max |value error| %.3g (values shifted to max 0)\n",
                    rep.topk_same_set, rep.logits_max_abs_err);
        std::printf("  KD loss, %s: fresh %.6g cached %.6g (rel. diff %.3g)\n", who.c_str(), rep.kd_fresh,
                    rep.kd_cached, rep.kd_rel_diff);
        std::printf("  KD loss, teacher as student: fresh %.6g cached %.6g (rel. diff %.3g)\n", rep.kd_self_fresh,
                    rep.kd_self_cached, rep.kd_self_rel_diff);
      }
      std::printf("  hidden cosine to fresh: mean %.6f min %.6f\n", rep.hidden_cos_mean, rep.hidden_cos_min);
    }
  }
  std::fflush(stdout);
  if (!rep.ok()) {
    spdlog::error("cache-teacher --verify: {} problem(s) in '{}'", rep.errors.size(), cfg.teacher.cache);
    return kExitBadInput;
  }
  return kExitOk;
}

// What the cache cost to make, for teacher-inclusive accounting (`report --teacher-cost`): the
// teacher forward over every cached token, C_teacher = 2·backbone + 2·d·V FLOPs a token
// (budget::forward_cost, the same convention as the training budget).
void write_cache_cost(const config::ExperimentConfig& cfg, double tokens) {
  const auto shape = teacher::teacher_shape(cfg);
  const double per_token = double(budget::forward_cost(shape));
  const nlohmann::json cost = {{"format", "hld-teacher-cache-cost/1"},
                               {"teacher", shape.name},
                               {"teacher_forward_flops_per_token", per_token},
                               {"tokens", tokens},
                               {"flops", per_token * tokens}};
  util::write_file_atomic((std::filesystem::path(cfg.teacher.cache) / "cost.json").string(), cost.dump(2) + "\n");
}

int run_cache(const CacheArgs& a) {
  const auto cfg = a.cfg.load();
  if (a.verify) return run_verify(a, cfg);
  runtime::install_stop_signals(config::parse_exit_signals(cfg.run.exit_signals, "run.exit_signals"));
  teacher::CacheWriteOptions o;
  o.plan.sequences = a.sequences;
  o.plan.chunk_rows = a.chunk_sequences;
  o.plan.world = a.world > 0 ? a.world : dist::read_launch_env().world;
  o.batch = a.batch;
  o.stop_after_chunks = a.stop_after_chunks;
  o.quiet = a.quiet;
  const auto r = teacher::write_teacher_cache(cfg, o);
  const double tokens = double(r.index.rows) * double(r.index.context);
  if (r.index.complete()) write_cache_cost(cfg, tokens);
  std::printf("cache-teacher: %s: %lld of %lld chunks, %.1f bytes/token on disk (%lld in records)\n",
              r.index.complete() ? "complete" : "incomplete", (long long)r.index.chunks.size(),
              (long long)r.index.num_chunks(), tokens > 0 ? double(r.index.total_bytes()) / tokens : 0.0,
              (long long)r.index.layout.bytes_per_token());
  return r.stopped.empty() ? kExitOk : kExitRequeue;
}

}  // namespace

void register_cache_teacher(CLI::App& app, Action& action) {
  auto a = std::make_shared<CacheArgs>();
  auto* sub = app.add_subcommand("cache-teacher", "write the teacher's top-k logits and hint-layer states");
  add_config_args(sub, a->cfg);
  sub->add_flag("--verify", a->verify,
                "re-read every chunk, check checksums and measure the error against a fresh teacher forward");
  sub->add_flag("--json", a->json, "--verify: print the report as JSON");
  sub->add_option("--sequences", a->sequences,
                  "positions of the run's data order to cache (default: teacher.cache_tokens, else the most "
                  "any teacher objective (kd, hldc, hldf) reads under the budget; capped at the split)");
  sub->add_option("--chunk-sequences", a->chunk_sequences, "sequences per chunk file")->capture_default_str();
  sub->add_option("--batch", a->batch, "sequences per teacher forward (default: the run's micro-batch)");
  sub->add_option("--sample", a->sample, "--verify: sequences compared with a fresh forward")->capture_default_str();
  sub->add_option("--student", a->student,
                  "--verify: model (checkpoint/run dir) used as the student in the KD comparison (default: the "
                  "config's student at initialisation)");
  sub->add_option("--world", a->world, "data-parallel ranks of the runs it serves (default: WORLD_SIZE or 1)");
  sub->add_option("--stop-after-chunks", a->stop_after_chunks, "stop after writing this many chunks (resume later)");
  sub->add_flag("--quiet", a->quiet, "no progress lines");
  sub->callback([&action, a] { action = [a] { return run_cache(*a); }; });
}

}  // namespace hld::cli
