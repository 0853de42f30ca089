// The training loop: budget plan → phases → optimizer steps (gradient accumulation, teacher
// signals, loss, clipping, AdamW) → metrics, checkpoints, resume.
#include "hld/train/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "hld/budget/plan.h"
#include "hld/data/batch_stream.h"
#include "hld/dist/launch_env.h"
#include "hld/model/model_io.h"
#include "hld/objectives/objective.h"
#include "hld/teacher/teacher.h"
#include "hld/train/adamw.h"
#include "hld/train/prefetcher.h"
#include "hld/train/progress.h"
#include "hld/train/resources.h"
#include "hld/train/run_dir.h"
#include "hld/train/schedule.h"
#include "hld/util/compat.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::train {
namespace {

using objectives::Phase;

/// Held-out NLL over the first `n_seqs` sequences of the validation split, in order.
double valid_loss(model::Transformer& m, const data::BatchStream& valid, int64_t n_seqs, int64_t batch, int64_t T,
                  torch::Device dev) {
  torch::NoGradGuard ng;
  const bool was_training = m->is_training();
  m->eval();
  n_seqs = std::min(n_seqs, valid.num_sequences());
  double sum = 0;
  int64_t count = 0;
  std::vector<int32_t> row;
  for (int64_t start = 0; start < n_seqs; start += batch) {
    const int64_t rows = std::min(batch, n_seqs - start);
    std::vector<int32_t> toks;
    for (int64_t i = 0; i < rows; ++i) {
      valid.sequence(start + i, row);
      toks.insert(toks.end(), row.begin(), row.end());
    }
    auto t = torch::from_blob(toks.data(), {rows, T + 1}, torch::kInt32).to(torch::kInt64).to(dev);
    auto logits = m->forward(t.narrow(1, 0, T)).logits_BxTxV;
    auto logp = torch::log_softmax(logits.to(torch::kFloat32), -1);
    sum += -logp.gather(2, t.narrow(1, 1, T).unsqueeze(2)).sum().item<double>();
    count += rows * T;
  }
  m->train(was_training);
  return count ? sum / static_cast<double>(count) : -1;
}

/// Parameters a phase trains: HLDF's hint phase trains the embedding, the first `hint` blocks and
/// the regressor; every other phase the whole student (plus the HLDC regressor).
std::vector<AdamW::Param> phase_params(model::Transformer& m, objectives::Regressor* reg, bool hint_phase,
                                       int64_t hint, const config::OptimConfig& oc) {
  std::vector<AdamW::Param> out;
  for (auto& p : param_groups(*m, oc)) {
    if (hint_phase) {
      const bool embed = p.name.rfind("embed_tokens.", 0) == 0;
      bool early_block = false;
      if (p.name.rfind("layers.", 0) == 0) early_block = std::stoll(p.name.substr(7)) < hint;
      if (!embed && !early_block) continue;
    }
    out.push_back(p);
  }
  if (reg)
    for (auto& p : param_groups(**reg, oc, "regressor.")) out.push_back(p);
  return out;
}

// The first teacher signal with a NaN/Inf ("" when all are finite): a corrupt teacher or cache
// should be named as such, not discovered as a non-finite student loss.
std::string first_nonfinite_signal(const objectives::TeacherSignals& s) {
  if (s.vals_NxK.defined() && !torch::isfinite(s.vals_NxK).all().item<bool>()) return "teacher top-k logits";
  if (s.hidden_NxD.defined() && !torch::isfinite(s.hidden_NxD).all().item<bool>()) return "teacher hidden states";
  return "";
}

std::string first_nonfinite(const objectives::LossOutput& out) {
  for (const auto& [name, t] : out.terms)
    if (!std::isfinite(t.item<double>())) return "train/" + name;
  return std::isfinite(out.loss.item<double>()) ? "" : "train/loss";
}

}  // namespace

TrainResult run_training(const config::ExperimentConfig& cfg, const TrainOptions& opts) {
  dist::Collective single;
  dist::Collective& coll = opts.collective ? *opts.collective : single;
  const int rank = coll.rank(), world = coll.world();
  const torch::Device dev = dist::rank_device(compat::resolve_device(cfg.run.device), coll.local_rank(), world);
  if (cfg.run.threads > 0) torch::set_num_threads(static_cast<int>(cfg.run.threads));
  HLD_INPUT_CHECK(!cfg.data.train.empty(), "data.train: no training shard directory configured");
  const std::string run_dir = cfg.run.dir;
  const bool rank0 = rank == 0;

  // ---- plan and resume point ---------------------------------------------------------------
  std::optional<config::ModelConfig> tshape;
  if (cfg.needs_teacher()) tshape = teacher::teacher_shape(cfg);
  const budget::BudgetPlan plan = budget::plan(cfg, world, tshape ? &*tshape : nullptr);
  const std::string fingerprint = config_fingerprint(cfg, world);
  TrainState st;
  st.fingerprint = fingerprint;
  const std::string ckpt = model::latest_checkpoint(run_dir);
  if (!ckpt.empty()) {
    st = read_checkpoint_state(ckpt);
    HLD_INPUT_CHECK(st.fingerprint == fingerprint,
                    "run.dir '" + run_dir + "' holds a checkpoint of a different configuration (" + ckpt +
                        "); use a new run.dir or the original config");
  }
  HLD_INPUT_CHECK(coll.all_equal(ckpt.empty() ? -1 : st.step) &&
                      coll.all_equal(static_cast<int64_t>(util::fnv1a64(fingerprint))),
                  "run.dir '" + run_dir + "': the ranks see different checkpoints or configurations (run.dir must "
                  "be on a file system that every node shares, and every rank needs the same config)");
  if (rank0) {
    fs::create_directories(run_dir);
    util::write_file_atomic((fs::path(run_dir) / "config.yaml").string(), cfg.resolved_yaml);
  }
  TrainResult result;
  if (st.phase >= static_cast<int>(plan.phases.size())) {
    if (rank0) spdlog::info("{}: already finished at step {} ({} FLOPs); nothing to do", run_dir, st.step, st.flops);
    result.state = st;
    result.finished = true;
    result.last_checkpoint = ckpt;
    return result;
  }

  if (cfg.run.check_resources) {
    const bool cuda = dev.is_cuda();
    check_training_resources(cfg, tshape ? &*tshape : nullptr, compat::kHasSdpa && cuda,
                             cuda ? compat::cuda_free_memory(dev.index()) : host_memory_available(), dev.str(),
                             cuda ? 1 : dist::read_launch_env().local_world);
  }

  // ---- data, models, teacher ---------------------------------------------------------------
  const int64_t T = cfg.data.context, accum = cfg.data.grad_accum, micro = cfg.data.batch_size / accum;
  data::BatchStream stream(cfg.data.train, micro, T, cfg.run.seed, rank, world);
  HLD_INPUT_CHECK(stream.vocab_size() <= cfg.model.vocab_size,
                  "data.train: shards use a vocabulary of " + std::to_string(stream.vocab_size()) +
                      " tokens, more than model.vocab_size = " + std::to_string(cfg.model.vocab_size));
  if (!st.data.is_null()) stream.restore(st.data);
  std::unique_ptr<data::BatchStream> valid;
  if (!cfg.data.valid.empty()) valid = std::make_unique<data::BatchStream>(cfg.data.valid, micro, T, cfg.run.seed);

  torch::manual_seed(cfg.run.seed);
  model::Transformer student(cfg.model);
  const bool hldf = cfg.objective.name == config::Objective::kHldf;
  const int64_t hint = cfg.student_hint_layer();
  objectives::Regressor reg{nullptr};
  if (cfg.objective.name == config::Objective::kHldc || hldf)
    reg = objectives::Regressor(cfg.regressor_kind(), cfg.model.hidden_size, tshape->hidden_size,
                                cfg.objective.regressor_expansion);
  auto phase_uses_reg = [&](int p) { return cfg.objective.name == config::Objective::kHldc || (hldf && p == 0); };
  if (!ckpt.empty()) load_checkpoint(ckpt, student, phase_uses_reg(st.phase) ? &reg : nullptr, nullptr);
  if (ckpt.empty() && world > 1) {  // identical initial weights on every rank
    std::vector<torch::Tensor> init = student->parameters();
    if (reg) for (auto& p : reg->parameters()) init.push_back(p);
    torch::NoGradGuard ng;
    coll.broadcast(init);
  }
  student->to(dev);
  student->train();
  if (reg) reg->to(dev);
  // A cached teacher is read on the host, with the tokens, by the prefetcher (decoded on its thread
  // when it runs one); an online teacher runs in the step on the device.
  std::unique_ptr<teacher::TeacherSource> teacher;
  const bool cached = cfg.needs_teacher() && cfg.teacher.source == "cache";
  if (cfg.needs_teacher())
    teacher = teacher::make_teacher(cfg, cached ? torch::Device(torch::kCPU) : dev, /*parallel_decode=*/cfg.data.prefetch == 0);

  // run.dtype = bfloat16: CUDA autocast (bf16 products, float32 master weights and losses).
  const bool autocast = compat::bf16_autocast(dev, cfg.run.dtype);
  if (cfg.run.dtype == "bfloat16" && !dev.is_cuda() && rank0)
    spdlog::warn("run.dtype = bfloat16 applies to CUDA devices (autocast); this {} run computes in float32", dev.str());

  std::unique_ptr<MetricsLog> metrics;
  if (rank0) metrics = std::make_unique<MetricsLog>((fs::path(run_dir) / "metrics.jsonl").string(), st.step);
  const double peak = cfg.run.peak_flops > 0 ? cfg.run.peak_flops : measured_peak_flops(dev.str(), cfg.run.dtype);
  Progress progress(plan, peak * world, opts.quiet || !rank0);  // tokens/s are global: every rank's peak
  if (rank0)
    spdlog::info("{}: {} {} steps in {} phase(s), {:.3e} FLOPs{}", run_dir, config::to_string(cfg.objective.name),
                 plan.total_steps, plan.phases.size(), plan.total_flops,
                 ckpt.empty() ? "" : fmt::format(", resuming at step {}", st.step));

  // ---- phases --------------------------------------------------------------------------------
  for (int p = st.phase; p < static_cast<int>(plan.phases.size()); ++p) {
    const auto& ph = plan.phases[p];
    const bool hint_phase = hldf && p == 0;
    const Phase obj_phase = hint_phase ? Phase::kHint : Phase::kMain;
    objectives::Regressor* phase_reg = phase_uses_reg(p) ? &reg : nullptr;
    AdamW opt(phase_params(student, phase_reg, hint_phase, hint, cfg.optimizer), cfg.optimizer);
    if (!ckpt.empty() && st.phase == p && st.phase_step > 0) load_checkpoint(ckpt, student, nullptr, &opt);
    const double peak_lr = hint_phase && cfg.schedule.hint_lr > 0 ? cfg.schedule.hint_lr : cfg.optimizer.lr;
    const auto needs = objectives::needs(cfg, obj_phase);
    Prefetcher batches(stream, cached ? teacher.get() : nullptr, needs, cfg.data.prefetch, dev.is_cuda());

    while (st.phase_step < ph.steps) {
      if (opts.stop_after_steps >= 0 && st.step >= opts.stop_after_steps) {
        if (rank0) result.last_checkpoint = save_checkpoint(run_dir, st, student, phase_reg, opt, cfg.run.keep_checkpoints);
        result.state = st;
        return result;
      }
      const double lr = hint_phase ? hint_lr(st.phase_step, peak_lr, cfg.schedule)
                                   : wsd_lr(st.phase_step, ph.steps, peak_lr, cfg.schedule);
      opt.zero_grad();
      nlohmann::json data_position;
      std::map<std::string, double> terms;
      std::string bad;
      for (int64_t a = 0; a < accum; ++a) {
        const HostBatch hb = batches.next();
        DeviceBatch b = to_device(hb, dev);
        auto& sig = b.signals;
        objectives::LossOutput out;
        {
          compat::CudaAutocastGuard ac(autocast);  // forward passes only; backward follows their dtypes
          if (teacher && !hb.has_signals) sig = teacher->signals(b.input_BxT, hb.seq_ids, needs);
          out = objectives::compute_loss(cfg, obj_phase, student, phase_reg, b.input_BxT, b.target_BxT,
                                         teacher ? &sig : nullptr);
        }
        data_position = hb.position;
        if (bad.empty() && teacher) bad = first_nonfinite_signal(sig);
        if (bad.empty()) bad = first_nonfinite(out);
        (out.loss / static_cast<double>(accum)).backward();
        terms["loss"] += out.loss.item<double>() / accum;
        for (const auto& [k, v] : out.terms) terms[k] += v.item<double>() / accum;
      }
      if (world > 1) {
        std::vector<torch::Tensor> grads;
        for (const auto& p : opt.params())
          if (p.tensor.grad().defined()) grads.push_back(p.tensor.grad());
        coll.allreduce_mean(grads);
        for (auto& [k, v] : terms) v = coll.allreduce_sum(v) / world;
        if (coll.allreduce_sum(bad.empty() ? 0.0 : 1.0) > 0 && bad.empty()) bad = "a peer rank's loss";
      }
      const double gnorm = opt.grad_norm();
      if (bad.empty() && !std::isfinite(gnorm)) bad = "gradient norm";
      st.data = data_position;
      if (!bad.empty()) {
        if (st.bad_steps >= cfg.run.max_bad_steps)
          throw std::runtime_error(fmt::format("step {}: {} is not finite; stopping (last good checkpoint kept; "
                                               "run.max_bad_steps = {} allows skipping bad batches)",
                                               st.step + 1, bad, cfg.run.max_bad_steps));
        spdlog::warn("step {}: {} is not finite; skipping this batch ({} of {} allowed)", st.step + 1, bad,
                     st.bad_steps + 1, cfg.run.max_bad_steps);
        ++st.bad_steps;
        opt.zero_grad();
        continue;
      }
      opt.clip_grad_norm(cfg.optimizer.grad_clip, gnorm);
      opt.step(lr);
      ++st.step;
      ++st.phase_step;
      st.flops += static_cast<double>(ph.flops_per_step);
      st.tokens += ph.tokens_per_step;

      const bool log_now = st.step % cfg.run.log_every == 0 || st.phase_step == ph.steps;
      if (rank0 && log_now) {
        nlohmann::json rec = progress.record(st, ph, lr, gnorm);
        for (const auto& [k, v] : terms) rec["train/" + k] = v;
        metrics->write(rec);
        progress.print(rec);
      }
      if (cfg.run.eval_every > 0 && st.step % cfg.run.eval_every == 0 && valid && rank0) {
        const double vl = valid_loss(student, *valid, cfg.run.eval_batches * micro, micro, T, dev);
        metrics->write({{"step", st.step}, {"valid/loss", vl}, {"flops/spent", st.flops}});
      }
      if (rank0 && cfg.run.checkpoint_every > 0 && st.step % cfg.run.checkpoint_every == 0)
        result.last_checkpoint = save_checkpoint(run_dir, st, student, phase_reg, opt, cfg.run.keep_checkpoints);
    }
    // Phase done: HLDF drops the regressor and starts phase 2 with a fresh optimizer.
    ++st.phase;
    st.phase_step = 0;
    if (p + 1 == static_cast<int>(plan.phases.size()) && rank0) {
      AdamW empty({}, cfg.optimizer);
      result.last_checkpoint = save_checkpoint(run_dir, st, student, nullptr, empty, cfg.run.keep_checkpoints);
    }
  }
  result.state = st;
  result.finished = true;
  if (valid && rank0) {
    result.valid_loss = valid_loss(student, *valid, cfg.run.eval_batches * micro, micro, T, dev);
    metrics->write({{"step", st.step}, {"valid/loss", result.valid_loss}, {"flops/spent", st.flops}});
    spdlog::info("{}: done, {} steps, {:.4e} FLOPs, held-out loss {:.4f}", run_dir, st.step, st.flops,
                 result.valid_loss);
  }
  return result;
}

}  // namespace hld::train
