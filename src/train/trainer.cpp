// The training loop: budget plan → phases → optimizer steps (train/step) → metrics, checkpoints,
// held-out loss, resume. `bench` runs the same loop without a run folder.
#include "hld/train/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "hld/budget/plan.h"
#include "hld/compat/torch.h"
#include "hld/data/batch_stream.h"
#include "hld/dist/launch_env.h"
#include "hld/model/activation_checkpoint.h"
#include "hld/config/hidden_pairs.h"
#include "hld/model/model_io.h"
#include "hld/objectives/chunked_lm_loss.h"
#include "hld/objectives/objective.h"
#include "hld/runtime/runtime.h"
#include "hld/teacher/teacher.h"
#include "hld/train/adamw.h"
#include "hld/train/prefetcher.h"
#include "hld/train/progress.h"
#include "hld/train/resources.h"
#include "hld/train/resume.h"
#include "hld/train/run_dir.h"
#include "hld/train/schedule.h"
#include "hld/train/step.h"
#include "hld/train/stop_policy.h"
#include "hld/util/error.h"
#include "hld/util/fault.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::train {
namespace {

/// Held-out NLL over the first `n_seqs` sequences of the validation split, in order, through the
/// training loss's chunked de-embedding (no (B, T, V) float32 logits).
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
    auto ids_BxT1 = torch::from_blob(toks.data(), {rows, T + 1}, torch::kInt32).to(torch::kInt64).to(dev);
    model::ForwardOptions fo;
    fo.logits = false;  // the de-embedding runs chunked inside the loss, as in training
    fo.final_normed = true;
    auto normed_BxTxD = m->forward(ids_BxT1.narrow(1, 0, T), fo).final_normed_BxTxD;
    const auto& w_VxD = m->embed_tokens->weight;
    auto lm = objectives::chunked_lm_loss(normed_BxTxD.reshape({-1, normed_BxTxD.size(-1)}), w_VxD,
                                          ids_BxT1.narrow(1, 1, T).reshape({-1}), torch::Tensor(), torch::Tensor(), 1.0,
                                          objectives::default_chunk_rows(w_VxD.size(0)));
    sum += lm.nll.item<double>() * static_cast<double>(rows * T);
    count += rows * T;
  }
  m->train(was_training);
  return count ? sum / static_cast<double>(count) : -1;
}

/// Parameters a phase trains: the whole student, or the embedding and the first `hint` blocks
/// (HLDF's phase 1), plus the regressor when the phase uses it.
std::vector<AdamW::Param> phase_params(model::Transformer& m, objectives::Regressor* reg, const spec::PhaseSpec& phase,
                                       int64_t hint, const config::OptimConfig& oc) {
  std::set<const void*> chosen;
  if (phase.trains == spec::Trains::kFirstBlocks)
    for (const auto& t : m->first_blocks_parameters(hint)) chosen.insert(t.unsafeGetTensorImpl());
  std::vector<AdamW::Param> out;
  for (auto& p : param_groups(*m, oc))
    if (phase.trains == spec::Trains::kWholeStudent || chosen.count(p.tensor.unsafeGetTensorImpl())) out.push_back(p);
  if (reg)
    for (auto& p : param_groups(**reg, oc, "regressor.")) out.push_back(p);
  return out;
}

/// Total bytes of a checkpoint's weights and AdamW moments (float32), for the save-time estimate.
double checkpoint_bytes(model::Transformer& m, objectives::Regressor* reg) {
  double n = 0;
  for (const auto& p : m->parameters()) n += double(p.numel());
  if (reg && *reg)
    for (const auto& p : (*reg)->parameters()) n += double(p.numel());
  return 12.0 * n;
}

/// The student and (when some phase uses one) the hint regressors: initialised from run.seed and
/// broadcast from rank 0, or loaded from the resume checkpoint (the regressors only while a phase
/// that trains them is still to run), on the device, in training mode.
struct Models {
  model::Transformer student;
  objectives::Regressor reg;
};
Models build_models(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher, const ResumePoint& start,
                    dist::Collective& coll, torch::Device dev) {
  const auto& phases = spec::of(cfg.objective.name).phases;
  torch::manual_seed(cfg.run.seed);
  model::Transformer student(cfg.model);
  objectives::Regressor reg{nullptr};
  if (spec::of(cfg.objective.name).uses_regressor())
    reg = objectives::make_regressor(cfg, *teacher);  // one per hidden pair (objective.hidden_pairs)
  const int p = start.state.phase;
  const bool reg_in_checkpoint = p < static_cast<int>(phases.size()) && phases[p].regressor;
  if (!start.checkpoint.empty())
    load_checkpoint(start.checkpoint, student, reg_in_checkpoint ? &reg : nullptr, nullptr);
  if (start.checkpoint.empty() && coll.world() > 1) {  // identical initial weights on every rank
    std::vector<torch::Tensor> init = student->parameters();
    if (reg)
      for (auto& t : reg->parameters()) init.push_back(t);
    torch::NoGradGuard ng;
    coll.broadcast(init);
  }
  student->to(dev);
  student->train();
  student->set_checkpoint_every(
      model::checkpoint_every(cfg.run.activation_checkpointing, cfg.run.activation_checkpointing_k));
  if (reg) reg->to(dev);
  return {student, reg};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TrainResult run_training(const config::ExperimentConfig& cfg, const TrainOptions& opts) {
  dist::Collective single;
  dist::Collective& coll = opts.collective ? *opts.collective : single;
  const int rank = coll.rank(), world = coll.world();
  const torch::Device dev = dist::rank_device(runtime::resolve_device(cfg.run.device), coll.local_rank(), world);
  if (cfg.run.threads > 0) torch::set_num_threads(static_cast<int>(cfg.run.threads));
  const bool folder = !opts.bench;  // a bench run reads and writes no run folder
  HLD_INPUT_CHECK(opts.batches || !cfg.data.train.empty(), "data.train: no training shard directory configured");
  const std::string run_dir = cfg.run.dir;
  const bool rank0 = rank == 0;

  // ---- plan and resume point ---------------------------------------------------------------
  std::optional<config::ModelConfig> tshape;
  if (cfg.needs_teacher()) tshape = opts.teacher ? opts.teacher->model_config() : teacher::teacher_shape(cfg);
  const budget::BudgetPlan plan = budget::plan(cfg, world, tshape ? &*tshape : nullptr);
  ResumePoint start = resume_point(cfg, folder, coll);
  TrainState& st = start.state;
  const std::string& ckpt = start.checkpoint;
  if (rank0 && folder) {
    fs::create_directories(run_dir);
    util::write_file_atomic((fs::path(run_dir) / "config.yaml").string(), cfg.resolved_yaml);
  }
  TrainResult result;
  result.plan = plan;
  if (st.phase >= static_cast<int>(plan.phases.size())) {
    if (rank0) spdlog::info("{}: already finished at step {} ({} FLOPs); nothing to do", run_dir, st.step, st.flops);
    result.state = st;
    result.finished = true;
    result.last_checkpoint = ckpt;
    return result;
  }
  HLD_INPUT_CHECK(opts.start_phase >= 0 && opts.start_phase < static_cast<int>(plan.phases.size()),
                  "phase " + std::to_string(opts.start_phase) + ": the plan has " + std::to_string(plan.phases.size()) +
                      " phase(s)");
  if (st.phase < opts.start_phase) st.phase = opts.start_phase;

  if (cfg.run.check_resources && folder) check_run_resources(cfg, tshape ? &*tshape : nullptr, dev.str(), world, rank0);

  // ---- data, models, teacher ---------------------------------------------------------------
  const int64_t T = cfg.data.context, accum = cfg.data.grad_accum, micro = cfg.data.batch_size / accum;
  std::unique_ptr<data::BatchStream> stream;
  if (!opts.batches) {
    stream = std::make_unique<data::BatchStream>(cfg.data.train, micro, T, cfg.run.seed, rank, world);
    HLD_INPUT_CHECK(stream->vocab_size() <= cfg.model.vocab_size,
                    "data.train: shards use a vocabulary of " + std::to_string(stream->vocab_size()) +
                        " tokens, more than model.vocab_size = " + std::to_string(cfg.model.vocab_size));
    if (!st.data.is_null()) stream->restore(st.data);
  }
  std::unique_ptr<data::BatchStream> valid;
  if (!cfg.data.valid.empty() && folder)
    valid = std::make_unique<data::BatchStream>(cfg.data.valid, micro, T, cfg.run.seed);

  const auto& phases = spec::of(cfg.objective.name).phases;
  const int64_t hint = config::deepest_student_layer(cfg);  // HLDF phase 1 trains blocks 1..m_S
  Models models = build_models(cfg, tshape ? &*tshape : nullptr, start, coll, dev);
  model::Transformer& student = models.student;
  objectives::Regressor& reg = models.reg;
  // A cached teacher is read on the host, with the tokens, by the prefetcher (decoded on its thread
  // when it runs one); an online teacher runs in the step on the device.
  std::unique_ptr<teacher::TeacherSource> own_teacher;
  teacher::TeacherSource* teacher = opts.teacher;
  const bool cached = cfg.needs_teacher() && cfg.teacher.source == "cache" && !opts.teacher;
  if (cfg.needs_teacher() && !teacher) {
    own_teacher = teacher::make_teacher(cfg, cached ? torch::Device(torch::kCPU) : dev,
                                        /*parallel_decode=*/cfg.data.prefetch == 0,
                                        /*positions=*/plan.total_steps * plan.global_batch);
    teacher = own_teacher.get();
  }

  // run.dtype = bfloat16: autocast on the device (bf16 products, float32 master weights and losses).
  const bool autocast = compat::bf16_autocast(cfg.run.dtype);
  if (autocast && dev.is_cpu() && !compat::cpu_has_native_bf16() && rank0)
    spdlog::warn(
        "run.dtype = bfloat16: this CPU has neither AVX512-BF16 nor AMX, so bf16 products are emulated "
        "and slower than float32");

  std::unique_ptr<MetricsLog> metrics;
  if (rank0 && folder) metrics = std::make_unique<MetricsLog>((fs::path(run_dir) / "metrics.jsonl").string(), st.step);
  const double peak = cfg.run.peak_flops > 0 ? cfg.run.peak_flops : measured_peak_flops(dev.str(), cfg.run.dtype);
  Progress progress(plan, peak * world, opts.quiet || !rank0, st);  // tokens/s are global: every rank's peak
  if (rank0 && folder)
    spdlog::info("{}: {} {} steps in {} phase(s), {:.3e} FLOPs{}", run_dir, config::to_string(cfg.objective.name),
                 plan.total_steps, plan.phases.size(), plan.total_flops,
                 ckpt.empty() ? "" : fmt::format(", resuming at step {}", st.step));

  // Held-out loss, with the peak memory of the training steps since the last one and its own.
  auto validate = [&](int64_t step, double flops) {
    const int64_t train_peak = runtime::peak_memory(dev);
    runtime::reset_peak_memory(dev);
    const double vl = valid_loss(student, *valid, cfg.run.eval_batches * micro, micro, T, dev);
    const int64_t valid_peak = runtime::peak_memory(dev);
    runtime::reset_peak_memory(dev);
    return nlohmann::json{{"step", step},
                          {"valid/loss", vl},
                          {"flops/spent", flops},
                          {"memory/train_peak_bytes", train_peak},
                          {"memory/valid_peak_bytes", valid_peak}};
  };

  // ---- phases --------------------------------------------------------------------------------
  int64_t steps_run = 0;  // in this call
  StopPolicy stopper(cfg.run, checkpoint_bytes(student, reg ? &reg : nullptr));
  for (int p = st.phase; p < static_cast<int>(plan.phases.size()); ++p) {
    const auto& ph = plan.phases[p];
    const spec::PhaseSpec& phase = phases.at(p);
    const bool constant_lr = phase.schedule == spec::LrSchedule::kWarmupConstant;
    objectives::Regressor* phase_reg = phase.regressor ? &reg : nullptr;
    AdamW opt(phase_params(student, phase_reg, phase, hint, cfg.optimizer), cfg.optimizer);
    if (!ckpt.empty() && st.phase == p && st.phase_step > 0) load_checkpoint(ckpt, student, nullptr, &opt);
    if (cfg.run.zero == 1) opt.shard(coll);  // ZeRO-1: this rank keeps the moments of its slices
    if (world > 1)                           // measured from the tensors, on every rank
      spdlog::info("[dist] rank {} of {}: phase '{}' optimizer state {} bytes ({})", rank, world, ph.name,
                   opt.state_bytes(), opt.sharded() ? "ZeRO-1 slices" : "replicated");
    // Checkpoints hold the full optimizer state whatever the world size: ZeRO-1 gathers it first
    // (a collective, so every rank takes part; rank 0 writes).
    int64_t saved_step = -1;
    auto save = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      opt.gather_state();
      if (rank0)
        result.last_checkpoint = save_checkpoint(run_dir, st, student, phase_reg, opt, cfg.run.keep_checkpoints);
      opt.drop_gathered_state();
      stopper.saved(seconds_since(t0));
      saved_step = st.step;
    };
    // Stopped by a signal or the time limit at the step every rank agreed on: one checkpoint (unless
    // this step's periodic one exists), and every rank leaves once it is complete.
    auto stop_here = [&](const std::string& why) {
      const auto t0 = std::chrono::steady_clock::now();
      if (saved_step != st.step) save();
      coll.barrier();
      if (rank0)
        spdlog::warn(
            "{}: stopped by {} after step {}; checkpoint {} written in {:.2f} s; run the same command to "
            "resume (exit code {})",
            run_dir, why, st.step, result.last_checkpoint, seconds_since(t0), int(kExitRequeue));
      result.state = st;
      result.stopped = why;
      return result;
    };
    const double peak_lr = constant_lr && cfg.schedule.hint_lr > 0 ? cfg.schedule.hint_lr : cfg.optimizer.lr;
    std::optional<Prefetcher> prefetch;
    if (stream) prefetch.emplace(*stream, cached ? teacher : nullptr, phase.needs, cfg.data.prefetch, dev.is_cuda());
    const std::function<HostBatch()> next = opts.batches ? opts.batches : [&] { return prefetch->next(); };
    const StepContext ctx{cfg, phase, student, phase_reg, teacher, opt, coll, dev, autocast, accum, opts.time_parts};

    while (st.phase_step < ph.steps) {
      if (opts.stop_after_steps >= 0 && st.step >= opts.stop_after_steps) {
        if (folder) save();
        result.state = st;
        return result;
      }
      const double lr = constant_lr ? hint_lr(st.phase_step, peak_lr, cfg.schedule)
                                    : wsd_lr(st.phase_step, ph.steps, peak_lr, cfg.schedule);
      if (opts.before_step) opts.before_step(steps_run);
      const auto t_step = std::chrono::steady_clock::now();
      const StepResult r = train_step(ctx, next, lr);
      if (stream) st.data = r.position;
      const std::string stop = folder ? stopper.agree(coll, seconds_since(t_step)) : "";
      if (!r.bad.empty()) {
        if (st.bad_steps >= cfg.run.max_bad_steps)
          throw std::runtime_error(
              fmt::format("step {}: {} is not finite; stopping (last good checkpoint kept; "
                          "run.max_bad_steps = {} allows skipping bad batches)",
                          st.step + 1, r.bad, cfg.run.max_bad_steps));
        spdlog::warn("step {}: {} is not finite; skipping this batch ({} of {} allowed)", st.step + 1, r.bad,
                     st.bad_steps + 1, cfg.run.max_bad_steps);
        ++st.bad_steps;
        if (!stop.empty()) return stop_here(stop);
        continue;
      }
      ++st.step;
      ++st.phase_step;
      ++steps_run;
      st.flops += static_cast<double>(ph.flops_per_step);
      st.tokens += ph.tokens_per_step;
      if (opts.after_step && !opts.after_step(StepReport{ph.name, p, st.step, lr, r})) {
        result.state = st;
        return result;
      }

      const bool log_now = st.step % cfg.run.log_every == 0 || st.phase_step == ph.steps;
      if (metrics && log_now) {
        nlohmann::json rec = progress.record(st, ph, lr, r.grad_norm);
        for (const auto& [k, v] : r.terms) rec["train/" + k] = v;
        metrics->write(rec);
        progress.print(rec);
      }
      if (cfg.run.eval_every > 0 && st.step % cfg.run.eval_every == 0 && valid && rank0)
        metrics->write(validate(st.step, st.flops));
      if (folder && cfg.run.checkpoint_every > 0 && st.step % cfg.run.checkpoint_every == 0) save();
      const bool last_step = p + 1 == static_cast<int>(plan.phases.size()) && st.phase_step == ph.steps;
      if (!stop.empty() && !last_step) return stop_here(stop);  // the last one just finishes the run
    }
    // Phase done: the next phase starts with a fresh optimizer (HLDF drops the regressor).
    ++st.phase;
    st.phase_step = 0;
    if (p + 1 < static_cast<int>(plan.phases.size())) util::fault_point("train.phase_boundary");
    if (p + 1 == static_cast<int>(plan.phases.size()) && rank0 && folder) {
      AdamW empty({}, cfg.optimizer);
      result.last_checkpoint = save_checkpoint(run_dir, st, student, nullptr, empty, cfg.run.keep_checkpoints);
    }
  }
  result.state = st;
  result.finished = true;
  if (valid && rank0) {
    const nlohmann::json rec = validate(st.step, st.flops);
    result.valid_loss = rec["valid/loss"].get<double>();
    metrics->write(rec);
    spdlog::info("{}: done, {} steps, {:.4e} FLOPs, held-out loss {:.4f}", run_dir, st.step, st.flops,
                 result.valid_loss);
  }
  return result;
}

}  // namespace hld::train
