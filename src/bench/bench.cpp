// Optimizer-step benchmark with a forward / loss / backward / optimizer time split.
#include "hld/bench/bench.h"

#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "hld/budget/plan.h"
#include "hld/model/transformer.h"
#include "hld/objectives/losses.h"
#include "hld/objectives/objective.h"
#include "hld/objectives/regressor.h"
#include "hld/train/adamw.h"
#include "hld/train/run_dir.h"
#include "hld/util/compat.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::bench {
namespace {

using Clock = std::chrono::steady_clock;

void sync(const torch::Device& d) {
  if (d.is_cuda()) compat::cuda_synchronize(d.index());
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

int64_t peak_rss_bytes() {
  rusage u{};
  return getrusage(RUSAGE_SELF, &u) == 0 ? int64_t{u.ru_maxrss} * 1024 : 0;
}

}  // namespace

nlohmann::json run_bench(const config::ExperimentConfig& cfg, const BenchOptions& o) {
  const torch::Device dev = compat::resolve_device(cfg.run.device);
  if (cfg.run.threads > 0) torch::set_num_threads(static_cast<int>(cfg.run.threads));
  torch::manual_seed(cfg.run.seed);
  const auto& m = cfg.model;
  const int64_t B = cfg.data.batch_size / cfg.data.grad_accum, T = cfg.data.context, K = cfg.objective.top_k;
  model::Transformer student(m);
  student->to(dev);
  const auto ph = objectives::Phase::kMain;  // HLDF: its KD phase, where nearly all of its FLOPs go
  const auto needs = objectives::needs(cfg, ph);
  const int64_t d_t = cfg.teacher.model ? cfg.teacher.model->hidden_size : m.hidden_size;
  objectives::Regressor reg{nullptr};
  if (needs.teacher_hidden) {
    reg = objectives::Regressor(cfg.regressor_kind(), m.hidden_size, d_t, cfg.objective.regressor_expansion);
    reg->to(dev);
  }
  std::vector<train::AdamW::Param> params = train::param_groups(*student, cfg.optimizer);
  if (reg) for (auto& p : train::param_groups(*reg, cfg.optimizer, "regressor.")) params.push_back(p);
  train::AdamW opt(params, cfg.optimizer);

  auto ids = torch::randint(0, m.vocab_size, {B, T + 1}, torch::TensorOptions().dtype(torch::kInt64).device(dev));
  auto input = ids.narrow(1, 0, T), target = ids.narrow(1, 1, T);
  objectives::TeacherSignals sig;  // a synthetic cached teacher: random top-k logits / hidden states
  if (needs.teacher_logits) {
    auto z = torch::randn({B * T, m.vocab_size}, torch::TensorOptions().device(dev));
    std::tie(sig.vals_NxK, sig.idx_NxK) = objectives::top_k_logits(z, K);
  }
  if (needs.teacher_hidden) sig.hidden_NxD = torch::randn({B * T, d_t}, torch::TensorOptions().device(dev));

  const bool autocast = compat::bf16_autocast(dev, cfg.run.dtype);  // as in training
  double t_fwd = 0, t_bwd = 0, t_opt = 0, t_total = 0;
  // The trace is collected in memory and written atomically after the run: no half-written file.
  const auto trace_dir = std::filesystem::path(o.profile).parent_path();
  HLD_INPUT_CHECK(o.profile.empty() || trace_dir.empty() || std::filesystem::is_directory(trace_dir),
                  "bench --profile '" + o.profile + "': directory '" + trace_dir.string() + "' does not exist");
  std::ostringstream trace;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profiler;
  for (int64_t step = 0; step < o.warmup + o.steps; ++step) {
    const bool timed = step >= o.warmup;
    if (step == o.warmup && dev.is_cuda()) compat::cuda_reset_peak_memory(dev.index());  // the steps' peak only
    if (step == o.warmup && !o.profile.empty()) profiler = std::make_unique<torch::autograd::profiler::RecordProfile>(trace);
    sync(dev);
    const auto s0 = Clock::now();
    opt.zero_grad();
    objectives::LossOutput out;
    {
      compat::CudaAutocastGuard ac(autocast);
      out = objectives::compute_loss(cfg, ph, student, reg ? &reg : nullptr, input, target,
                                     needs.teacher_logits || needs.teacher_hidden ? &sig : nullptr);
    }
    sync(dev);
    const double f = since(s0);
    const auto s1 = Clock::now();
    out.loss.backward();
    sync(dev);
    const double b = since(s1);
    const auto s2 = Clock::now();
    opt.step(cfg.optimizer.lr);
    sync(dev);
    const double op = since(s2);
    if (timed) {
      t_fwd += f, t_bwd += b, t_opt += op, t_total += since(s0);
    }
  }
  profiler.reset();  // flushes the trace into `trace`
  if (!o.profile.empty()) util::write_file_atomic(o.profile, trace.str());
  const double step_s = t_total / static_cast<double>(o.steps);
  const double tokens_per_s = static_cast<double>(B * T) / step_s;
  const auto costs = budget::token_costs(cfg, cfg.teacher.model ? &*cfg.teacher.model : nullptr);
  const double peak = cfg.run.peak_flops > 0 ? cfg.run.peak_flops : train::measured_peak_flops(dev.str(), cfg.run.dtype);
  const double attn = attention_flops_per_token(m, T);
  nlohmann::json r;
  r["device"] = dev.str();
  r["dtype"] = autocast ? "bfloat16 autocast" : "float32";
  r["objective"] = config::to_string(cfg.objective.name);
  r["model"] = m.name;
  r["batch"] = B;
  r["context"] = T;
  r["threads"] = torch::get_num_threads();
  r["steps"] = o.steps;
  r["ms_per_step"] = 1e3 * step_s;
  r["tokens_per_s"] = tokens_per_s;
  r["peak_flops"] = peak;
  r["flops_per_token"] = {{"c_data", costs.data}, {"attention", attn}};
  r["mfu"] = {{"c_data", budget::mfu(tokens_per_s, static_cast<double>(costs.data), peak)},
              {"with_attention", budget::mfu(tokens_per_s, static_cast<double>(costs.data) + attn, peak)}};
  r["time_split"] = {{"forward_and_loss", t_fwd / t_total}, {"backward", t_bwd / t_total}, {"optimizer", t_opt / t_total}};
  // CUDA: the caching allocator's peak; CPU: the process's peak resident set.
  r["peak_memory_bytes"] = dev.is_cuda() ? compat::cuda_peak_memory(dev.index()) : peak_rss_bytes();
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
