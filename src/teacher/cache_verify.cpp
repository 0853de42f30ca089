// Teacher-cache verification: full re-read of every chunk, then cached vs fresh teacher signals
// on a sample (top-k agreement, value error, KD loss relative difference, hidden cosine).
#include "hld/teacher/cache_verify.h"
#include "hld/hf/any_model.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "hld/data/batch_stream.h"
#include "hld/model/model_io.h"
#include "hld/objectives/losses.h"
#include "hld/runtime/runtime.h"
#include "hld/teacher/cache_plan.h"
#include "hld/teacher/cache_reader.h"
#include "hld/teacher/cache_source.h"
#include "hld/teacher/sampled_logits.h"
#include "hld/util/error.h"

namespace fs = std::filesystem;

namespace hld::teacher {
namespace {

double rel_diff(double a, double b) { return std::abs(a - b) / std::max(std::abs(a), 1e-30); }

/// Compares the cache's rows with a fresh forward of the teacher and a freshly initialised student.
void sample_error(const config::ExperimentConfig& cfg, CacheReader& reader, const data::BatchStream& order,
                  const VerifyOptions& opts, VerifyReport& rep) {
  int64_t n_sample = opts.sample_sequences;
  const auto& ix = reader.index();
  const auto& l = ix.layout;
  const int64_t T = ix.context, K = l.top_k, D = l.hidden_size, V = l.vocab_size;
  const torch::Device dev = runtime::resolve_device(cfg.run.device);
  torch::NoGradGuard ng;
  model::Transformer teacher = hf::load_model_any(cfg.teacher.checkpoint);
  teacher->to(dev);
  teacher->eval();
  torch::manual_seed(cfg.run.seed);
  model::Transformer student = opts.student.empty() ? model::Transformer(cfg.model) : hf::load_model_any(opts.student);
  HLD_INPUT_CHECK(student->config().vocab_size == V, "--student '" + opts.student + "': its vocabulary (" +
                                                         std::to_string(student->config().vocab_size) +
                                                         ") differs from the teacher's (" + std::to_string(V) + ")");
  student->to(dev);
  student->eval();
  const double tau = cfg.objective.temperature;
  n_sample = std::min(n_sample, ix.rows);
  double same = 0, cos_sum = 0, cos_min = 1, max_err = 0;
  double kd_f = 0, kd_c = 0, self_f = 0, self_c = 0, logz_err = 0;
  const bool sampled = ix.logits_kind == "sampled";
  double est_sum = 0, est_sum2 = 0, topk_bias = 0;  // sampled: per-token estimate − full KL
  const int64_t L = static_cast<int64_t>(ix.layers.size());
  std::vector<int32_t> seq;
  std::string lraw, hraw;
  for (int64_t i = 0; i < n_sample; ++i) {
    const int64_t row = i * ix.rows / n_sample;
    const int64_t sid = reader.seq_of(row);
    order.sequence(sid, seq);
    HLD_INPUT_CHECK(io::tokens_hash(seq.data(), T, ix.version) == reader.entry(row).tokens_hash,
                    "teacher.cache '" + reader.dir() + "': sequence " + std::to_string(sid) +
                        " has other tokens than when the cache was written (data.train changed?)");
    reader.read_raw(row, &lraw, &hraw);
    auto vals_c = torch::empty({T, K}, torch::kFloat32);
    auto idx_c = torch::empty({T, K}, torch::kInt64);
    auto h_c = torch::empty({T, L, D}, torch::kFloat32);
    auto logz_c = torch::zeros({T}, torch::kFloat32);
    reader.decode_logits_block(row, lraw, vals_c.data_ptr<float>(), idx_c.data_ptr<int64_t>(),
                               logz_c.data_ptr<float>());
    reader.decode_hidden_block(row, hraw, h_c.data_ptr<float>());

    auto input = torch::from_blob(seq.data(), {1, T}, torch::kInt32).to(torch::kInt64).to(dev);
    model::ForwardOptions fo;
    fo.hidden_layers = ix.layers;
    auto out = teacher->forward(input, fo);
    // A teacher vocabulary beyond the student's: the cache holds the shared ids (shared_vocab.h).
    auto t_logits = out.logits_BxTxV.narrow(-1, 0, V).reshape({-1, V}).to(torch::kCPU, torch::kFloat32);
    std::vector<torch::Tensor> hs;
    for (int64_t m : ix.layers) hs.push_back(out.hidden.at(m).reshape({-1, D}).to(torch::kCPU, torch::kFloat32));
    auto h_f = torch::stack(hs, 1).reshape({-1, D});  // (T·L, D), the cache's order
    h_c = h_c.reshape({-1, D});
    const auto [vals_f, idx_f] = cache_top_k(t_logits, K);  // the selection a top-k writer makes
    if (ix.has_logz) {  // (relative to the record's z_max with logq8 values: compare on that footing)
      auto fresh = torch::logsumexp(t_logits / ix.logz_temperature, -1);
      if (ix.logz_relative)
        fresh = fresh - (sampled ? t_logits.gather(1, idx_c) : vals_f).amax(-1) / ix.logz_temperature;
      logz_err = std::max(logz_err, (fresh - logz_c).abs().max().item<double>());
    }
    auto s_logits = student->forward(input).logits_BxTxV.reshape({-1, V}).to(torch::kCPU, torch::kFloat32);
    if (sampled) {
      // The same draws again (same seed and sequence id), and the estimator against the full KL,
      // per token in float64 (τ² scale): sparse estimate, full-vocabulary KL, top-k renormalised.
      const auto fresh = sample_logits(t_logits, draw_uniforms(ix.sample_seed, {sid}, T, K), tau);
      same += (fresh.idx_NxK == idx_c).all(-1).sum().item<double>();
      const double t2 = tau * tau;
      const auto log_ps = torch::log_softmax(s_logits.to(torch::kFloat64) / tau, -1);
      const auto log_pt = torch::log_softmax(t_logits.to(torch::kFloat64) / tau, -1);
      const auto w = run_counts(idx_c).to(torch::kFloat64) / double(K);
      const auto lpt = vals_c.to(torch::kFloat64) / tau - logz_c.to(torch::kFloat64).unsqueeze(1);
      const auto est = t2 * (w * (lpt - log_ps.gather(1, idx_c))).sum(-1);
      const auto full = t2 * (log_pt.exp() * (log_pt - log_ps)).sum(-1);
      const auto lq = torch::log_softmax(vals_f.to(torch::kFloat64) / tau, -1);
      const auto topk = t2 * (lq.exp() * (lq - log_ps.gather(1, idx_f))).sum(-1);
      kd_f += full.mean().item<double>();
      kd_c += est.mean().item<double>();
      // self_f += 0: the full KL of the teacher against itself
      self_c += t2 * (w * (lpt - log_pt.gather(1, idx_c))).sum(-1).mean().item<double>();
      const auto d_est = est - full;
      est_sum += d_est.sum().item<double>();
      est_sum2 += d_est.pow(2).sum().item<double>();
      topk_bias += (topk - full).sum().item<double>();
    } else {
      // Same ids? (cached ids are ascending; sort the fresh ones the same way.)
      auto sorted = idx_f.sort(-1);
      auto idx_fs = std::get<0>(sorted);
      auto vals_fs = vals_f.gather(1, std::get<1>(sorted));
      auto same_T = (idx_fs == idx_c).all(-1);
      same += same_T.sum().item<double>();
      if (same_T.any().item<bool>()) {
        auto a = vals_c - std::get<0>(vals_c.max(-1, true));
        auto b = vals_fs - std::get<0>(vals_fs.max(-1, true));
        max_err = std::max(max_err, (a - b).abs().index({same_T}).max().item<double>());
      }
      kd_f += objectives::kd_kl(s_logits, vals_f, idx_f, tau).item<double>();
      kd_c += objectives::kd_kl(s_logits, vals_c, idx_c, tau).item<double>();
      self_f += objectives::kd_kl(t_logits, vals_f, idx_f, tau).item<double>();
      self_c += objectives::kd_kl(t_logits, vals_c, idx_c, tau).item<double>();
    }
    auto cos = torch::nn::functional::cosine_similarity(h_c.to(torch::kFloat64), h_f.to(torch::kFloat64),
                                                        torch::nn::functional::CosineSimilarityFuncOptions().dim(1));
    cos_sum += cos.sum().item<double>();
    cos_min = std::min(cos_min, cos.min().item<double>());
  }
  rep.sample_sequences = n_sample;
  rep.sample_tokens = n_sample * T;
  const double n = static_cast<double>(rep.sample_tokens);
  rep.topk_same_set = same / n;
  rep.logits_max_abs_err = max_err;
  rep.kd_fresh = kd_f / n_sample;
  rep.kd_cached = kd_c / n_sample;
  rep.kd_rel_diff = rel_diff(rep.kd_fresh, rep.kd_cached);
  rep.kd_self_fresh = self_f / n_sample;
  rep.kd_self_cached = self_c / n_sample;
  rep.kd_self_rel_diff = rel_diff(rep.kd_self_fresh, rep.kd_self_cached);
  rep.hidden_cos_mean = cos_sum / n;
  rep.hidden_cos_min = cos_min;
  rep.logz_max_abs_err = logz_err;
  if (sampled) {
    rep.sampled = true;
    rep.estimator_error = est_sum / n;
    rep.estimator_se = std::sqrt(std::max(0.0, est_sum2 / n - rep.estimator_error * rep.estimator_error) / n);
    rep.topk_bias = topk_bias / n;
  }
}

}  // namespace

nlohmann::json VerifyReport::to_json() const {
  return {
      {"ok", ok()},
      {"errors", errors},
      {"chunks", {{"planned", chunks_planned}, {"ok", chunks_ok}}},
      {"chunk_bytes", chunk_bytes},
      {"bytes_per_token", bytes_per_token},
      {"record_bytes_per_token", record_bytes_per_token},
      {"sample",
       {{"sequences", sample_sequences},
        {"tokens", sample_tokens},
        {"topk_same_set", topk_same_set},
        {"logits_max_abs_err", logits_max_abs_err},
        {"kd_fresh", kd_fresh},
        {"kd_cached", kd_cached},
        {"kd_rel_diff", kd_rel_diff},
        {"kd_self_fresh", kd_self_fresh},
        {"kd_self_cached", kd_self_cached},
        {"kd_self_rel_diff", kd_self_rel_diff},
        {"hidden_cos_mean", hidden_cos_mean},
        {"hidden_cos_min", hidden_cos_min},
        {"logz_max_abs_err", logz_max_abs_err}}},
      {"logits_kind", sampled ? "sampled" : "topk"},
      {"estimator", sampled ? nlohmann::json{{"error", estimator_error}, {"se", estimator_se}, {"topk_bias", topk_bias}}
                            : nlohmann::json()},
      {"layers", layers},
      {"logz", has_logz}};
}

VerifyReport verify_teacher_cache(const config::ExperimentConfig& cfg, const VerifyOptions& opts) {
  VerifyReport rep;
  HLD_INPUT_CHECK(!cfg.teacher.cache.empty(), "teacher.cache: no cache directory configured");
  CacheReader reader(cfg.teacher.cache);
  const auto& ix = reader.index();
  const data::BatchStream order(cfg.data.train, 1, cfg.data.context, cfg.run.seed);
  rep.chunks_planned = ix.num_chunks();
  rep.record_bytes_per_token = ix.logits_record_bytes() + ix.hidden_record_bytes();
  rep.layers = ix.layers;
  rep.has_logz = ix.has_logz;
  bool identity_ok = true;
  try {
    const config::ModelConfig shape = teacher_shape(cfg);
    const int64_t hint = cfg.teacher_hint_layer(shape);
    check_cache_matches(reader, cfg, shape, hint, order, 0);
    reader.attach(order);
  } catch (const InputError& e) {
    rep.errors.push_back(e.what());
    identity_ok = false;
  }
  if (identity_ok) {
    for (int64_t c = 0; c < ix.num_chunks(); ++c) {
      try {
        reader.verify_chunk(c);
        ++rep.chunks_ok;
      } catch (const InputError& e) {
        rep.errors.push_back(e.what());
      }
    }
  }
  int64_t tokens = 0;
  for (const auto& e : ix.chunks) {
    rep.chunk_bytes += e.bytes;
    tokens += e.rows * ix.context;
  }
  rep.bytes_per_token = tokens ? static_cast<double>(rep.chunk_bytes) / static_cast<double>(tokens) : 0;
  if (rep.ok() && opts.sample_sequences > 0) {
    if (cfg.teacher.checkpoint.empty())
      spdlog::warn("cache-teacher --verify: no teacher.checkpoint, skipping the sample");
    else
      sample_error(cfg, reader, order, opts, rep);
  }
  return rep;
}

}  // namespace hld::teacher
