// Optimizer-step benchmark: training's own loop and step (train::run_training in bench mode),
// timed, with a forward+loss / backward / optimizer split.
#include "hld/bench/bench.h"

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>

#include "hld/budget/plan.h"
#include "hld/config/hidden_pairs.h"
#include "hld/objectives/losses.h"
#include "hld/runtime/runtime.h"
#include "hld/teacher/teacher.h"
#include "hld/train/run_dir.h"
#include "hld/train/trainer.h"
#include "hld/compat/torch.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::bench {
namespace {

using Clock = std::chrono::steady_clock;

void sync(const torch::Device& d) {
  if (d.is_cuda()) runtime::cuda_synchronize(d.index());
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// Attention score/value FLOPs per token (forward+backward), not in the paper's C_data:
/// 6 · 2 · heads · head_dim · (keys visible on average), per layer.
double attention_flops_per_token(const config::ModelConfig& m, int64_t T) {
  double f = 0;
  for (int64_t i = 0; i < m.num_layers; ++i) {
    const bool global = m.layer_type(i) == config::AttentionType::kGlobal;
    const double keys = global ? (T + 1) / 2.0 : std::min<double>(m.sliding_window, (T + 1) / 2.0);
    f += 6.0 * 2.0 * static_cast<double>(m.num_heads * m.head_dim) * keys;
  }
  return f;
}

/// Random top-k logits and hint-layer states of the teacher's shape, the same for every batch: a
/// stand-in for a cached teacher when the config names none.
class SyntheticTeacher : public teacher::TeacherSource {
 public:
  /// `pairs`: hidden pairs to serve (one state each, the same one).
  SyntheticTeacher(config::ModelConfig shape, int64_t rows, int64_t top_k, size_t pairs)
      : shape_(std::move(shape)), pairs_(pairs) {
    auto z_NxV = torch::randn({rows, shape_.vocab_size});
    std::tie(sig_.vals_NxK, sig_.idx_NxK) = objectives::top_k_logits(z_NxV, top_k);
    hidden_NxD_ = torch::randn({rows, shape_.hidden_size});
  }
  objectives::TeacherSignals signals(const torch::Tensor& input_BxT, const std::vector<int64_t>&,
                                     const spec::Needs& needs) override {
    const auto dev = input_BxT.device();
    objectives::TeacherSignals s;
    if (needs.teacher_logits) s.vals_NxK = sig_.vals_NxK.to(dev), s.idx_NxK = sig_.idx_NxK.to(dev);
    if (needs.teacher_hidden) s.hidden_NxD.assign(pairs_, hidden_NxD_.to(dev));
    return s;
  }
  const config::ModelConfig& model_config() const override { return shape_; }

 private:
  config::ModelConfig shape_;
  size_t pairs_ = 0;
  objectives::TeacherSignals sig_;  // the logits
  torch::Tensor hidden_NxD_;        // every pair's hidden state
};

}  // namespace

nlohmann::json run_bench(const config::ExperimentConfig& cfg, const BenchOptions& o) {
  const torch::Device dev = runtime::resolve_device(cfg.run.device);
  const auto& m = cfg.model;
  const int64_t B = cfg.data.batch_size / cfg.data.grad_accum, T = cfg.data.context;
  const auto trace_dir = std::filesystem::path(o.profile).parent_path();
  HLD_INPUT_CHECK(o.profile.empty() || trace_dir.empty() || std::filesystem::is_directory(trace_dir),
                  "bench --profile '" + o.profile + "': directory '" + trace_dir.string() + "' does not exist");

  // With data.train the bench reads the run's real batches (and its real teacher); without, one
  // random batch (and a random teacher of the configured shape) stands in. The random inputs come
  // from their own generator, so the student's initialisation is training's.
  train::TrainOptions to;
  to.bench = true;
  to.quiet = true;
  to.time_parts = true;
  std::unique_ptr<SyntheticTeacher> synthetic_teacher;
  train::HostBatch synthetic;
  if (cfg.data.train.empty()) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(cfg.run.seed ^ 0x62656e6368ULL);
    auto ids_BxT1 = torch::randint(0, m.vocab_size, {B, T + 1}, gen, torch::TensorOptions().dtype(torch::kInt64));
    synthetic.input_BxT = ids_BxT1.narrow(1, 0, T).contiguous();
    synthetic.target_BxT = ids_BxT1.narrow(1, 1, T).contiguous();
    to.batches = [&] { return synthetic; };
    // A cache holds signals of the real sequences only; an online teacher can run on anything.
    if (cfg.needs_teacher() && (cfg.teacher.source == "cache" || cfg.teacher.checkpoint.empty())) {
      torch::manual_seed(cfg.run.seed ^ 0x74656163ULL);  // training re-seeds before the student
      const auto tshape = teacher::teacher_shape(cfg);
      const size_t pairs = config::resolve_hidden_pairs(cfg, tshape.num_layers).size();
      synthetic_teacher = std::make_unique<SyntheticTeacher>(tshape, B * T, cfg.objective.top_k, pairs);
      to.teacher = synthetic_teacher.get();
    }
  }
  to.start_phase = o.phase;

  double t_fwd = 0, t_bwd = 0, t_opt = 0, t_total = 0, last_loss = 0;
  std::string phase;
  int64_t timed = 0;
  Clock::time_point s0;
  std::ostringstream trace;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profiler;
  to.before_step = [&](int64_t i) {
    if (i == o.warmup && dev.is_cuda()) runtime::cuda_reset_peak_memory(dev.index());  // the steps' peak only
    if (i == o.warmup && !o.profile.empty())
      profiler = std::make_unique<torch::autograd::profiler::RecordProfile>(trace);
    sync(dev);
    s0 = Clock::now();
  };
  int64_t run = 0;
  to.after_step = [&](const train::StepReport& rep) {
    sync(dev);
    if (run++ >= o.warmup) {
      t_fwd += rep.result.seconds_forward, t_bwd += rep.result.seconds_backward;
      t_opt += rep.result.seconds_optimizer, t_total += since(s0);
      ++timed;
      last_loss = rep.result.terms.at("loss");
      phase = rep.phase;
    }
    return run < o.warmup + o.steps;
  };
  const auto result = train::run_training(cfg, to);
  profiler.reset();  // flushes the trace into `trace`
  HLD_INPUT_CHECK(timed == o.steps,
                  "bench: the budget plan has fewer than --warmup + --steps = " + std::to_string(o.warmup + o.steps) +
                      " steps from phase " + std::to_string(o.phase) + "; raise budget.amount or lower --steps");
  if (!o.profile.empty()) util::write_file_atomic(o.profile, trace.str());

  const double step_s = t_total / static_cast<double>(o.steps);
  const double tokens_per_s = static_cast<double>(B * T) / step_s;
  const auto& costs = result.plan.costs;
  const double peak =
      cfg.run.peak_flops > 0 ? cfg.run.peak_flops : train::measured_peak_flops(dev.str(), cfg.run.dtype);
  const double attn = attention_flops_per_token(m, T);
  const bool autocast = compat::bf16_autocast(cfg.run.dtype);
  nlohmann::json r;
  r["device"] = dev.str();
  r["dtype"] = autocast ? "bfloat16 autocast" : "float32";
  r["objective"] = config::to_string(cfg.objective.name);
  r["phase"] = phase;
  r["model"] = m.name;
  r["batch"] = B;
  r["context"] = T;
  r["threads"] = torch::get_num_threads();
  r["steps"] = o.steps;
  r["loss"] = last_loss;
  r["data"] = cfg.data.train.empty() ? "synthetic" : cfg.data.train;
  r["ms_per_step"] = 1e3 * step_s;
  r["tokens_per_s"] = tokens_per_s;
  r["peak_flops"] = peak;
  r["flops_per_token"] = {{"c_data", costs.data}, {"attention", attn}};
  r["mfu"] = {{"c_data", budget::mfu(tokens_per_s, static_cast<double>(costs.data), peak)},
              {"with_attention", budget::mfu(tokens_per_s, static_cast<double>(costs.data) + attn, peak)}};
  r["time_split"] = {
      {"forward_and_loss", t_fwd / t_total}, {"backward", t_bwd / t_total}, {"optimizer", t_opt / t_total}};
  // CUDA: the caching allocator's peak; CPU: the process's peak resident set.
  r["peak_memory_bytes"] = runtime::peak_memory(dev);
  return r;
}

std::string format_bench(const nlohmann::json& r) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "bench %s %s on %s (%s, %d threads): batch %lld x %lld\n"
                "  %.2f ms/step, %.1fk tokens/s\n"
                "  MFU %.1f%% by C_data (%.1f%% with attention) of %.1f GFLOP/s peak\n"
                "  time: forward+loss %.0f%%, backward %.0f%%, optimizer %.0f%%\n"
                "  peak memory %.2f GiB (%s)\n",
                r["model"].get<std::string>().c_str(), r["objective"].get<std::string>().c_str(),
                r["device"].get<std::string>().c_str(), r["dtype"].get<std::string>().c_str(), r["threads"].get<int>(),
                static_cast<long long>(r["batch"].get<int64_t>()), static_cast<long long>(r["context"].get<int64_t>()),
                r["ms_per_step"].get<double>(), r["tokens_per_s"].get<double>() / 1e3,
                100 * r["mfu"]["c_data"].get<double>(), 100 * r["mfu"]["with_attention"].get<double>(),
                r["peak_flops"].get<double>() / 1e9, 100 * r["time_split"]["forward_and_loss"].get<double>(),
                100 * r["time_split"]["backward"].get<double>(), 100 * r["time_split"]["optimizer"].get<double>(),
                r["peak_memory_bytes"].get<double>() / (1024.0 * 1024 * 1024),
                r["device"].get<std::string>() == "cpu" ? "process resident set" : "CUDA allocator");
  return buf;
}

}  // namespace hld::bench
