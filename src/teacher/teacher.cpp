// Teacher sources: the online teacher, and the factory that validates a teacher against the run.
#include "hld/teacher/teacher.h"
#include "hld/hf/any_model.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "hld/config/hf_config.h"
#include "hld/config/loader.h"
#include "hld/model/model_io.h"
#include "hld/objectives/chunked_lm_loss.h"
#include "hld/config/hidden_pairs.h"
#include "hld/objectives/losses.h"
#include "hld/teacher/cache_source.h"
#include "hld/teacher/sampled_logits.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::teacher {

OnlineTeacher::OnlineTeacher(model::Transformer teacher, int64_t top_k, int64_t hint_layer)
    : OnlineTeacher(std::move(teacher), SignalRequest{top_k, {hint_layer}, false, 1.0}) {}

OnlineTeacher::OnlineTeacher(model::Transformer teacher, SignalRequest request)
    : teacher_(std::move(teacher)), req_(std::move(request)) {
  teacher_->eval();
  for (auto& p : teacher_->parameters()) p.set_requires_grad(false);
}

objectives::TeacherSignals OnlineTeacher::signals(const torch::Tensor& input, const std::vector<int64_t>& seq_ids,
                                                  const spec::Needs& needs) {
  return forward_signals(teacher_, input, needs, req_, seq_ids);
}

OnlineTeacher::~OnlineTeacher() {
  if (req_.extra && req_.extra->tokens() > 0)
    spdlog::info("teacher: probability on the extra vocabulary: {}", req_.extra->summary());
}

SignalRequest signal_request(const config::ExperimentConfig& cfg, const config::ModelConfig& teacher) {
  SignalRequest r;
  const SharedVocab sv = shared_vocab(cfg, teacher);
  if (sv.extra() > 0)
    r.extra = std::make_shared<ExtraVocabMass>(sv.shared, sv.teacher, cfg.teacher.max_extra_vocab_mass);
  r.top_k = cfg.objective.top_k;
  const std::string bad = config::check_hidden_pairs(cfg, teacher.num_layers);
  HLD_INPUT_CHECK(bad.empty(), bad.substr(0, bad.size() - 1));
  for (const auto& p : config::resolve_hidden_pairs(cfg, teacher.num_layers)) r.hidden_layers.push_back(p.teacher);
  r.logz = cfg.objective.tail == config::TailMode::kBucket;
  r.logz_temperature = 1.0;  // raw logits, as a cache stores it
  if (cfg.teacher.logits == config::TeacherLogits::kSampled) {
    r.sampled = r.logz = true;
    r.logz_temperature = cfg.objective.temperature;  // the draws' distribution, and log p_T's normaliser
    r.sample_seed = cfg.teacher.sample_seed;
  }
  return r;
}

std::pair<torch::Tensor, torch::Tensor> cache_top_k(const torch::Tensor& logits_NxV, int64_t k) {
  const auto z = logits_NxV.to(torch::kFloat32);
  const int64_t V = z.size(1);
  int64_t kk = std::min(V, k + 8);
  for (;;) {
    auto [v, i] = z.topk(kk, -1, /*largest=*/true, /*sorted=*/true);
    auto b = v.to(torch::kBFloat16).to(torch::kFloat32);
    // Rounding is monotonic: past the kk-th no entry ties with the k-th once b[kk-1] < b[k-1].
    if (kk == V || (b.select(1, kk - 1) < b.select(1, k - 1)).all().item<bool>()) {
      auto by_id = std::get<1>(i.sort(1));
      auto i1 = i.gather(1, by_id), b1 = b.gather(1, by_id), v1 = v.gather(1, by_id);
      auto keep = std::get<1>(b1.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true)).narrow(1, 0, k);
      return {v1.gather(1, keep), i1.gather(1, keep)};
    }
    kk = std::min(V, 2 * kk);
  }
}

objectives::TeacherSignals forward_signals(model::Transformer& teacher, const torch::Tensor& input_BxT,
                                           const spec::Needs& needs, int64_t top_k, int64_t hint_layer) {
  return forward_signals(teacher, input_BxT, needs, SignalRequest{top_k, {hint_layer}, false, 1.0});
}

objectives::TeacherSignals forward_signals(model::Transformer& teacher, const torch::Tensor& input_BxT,
                                           const spec::Needs& needs, const SignalRequest& req,
                                           const std::vector<int64_t>& seq_ids) {
  torch::NoGradGuard ng;
  model::ForwardOptions fo;
  fo.logits = false;  // de-embedded chunk by chunk below
  if (needs.teacher_hidden) fo.hidden_layers = req.hidden_layers;
  if (needs.teacher_logits)
    fo.final_normed = true;
  else if (!req.hidden_layers.empty())
    fo.stop_after = *std::max_element(req.hidden_layers.begin(), req.hidden_layers.end());
  auto out = teacher->forward(input_BxT, fo);
  objectives::TeacherSignals s;
  if (needs.teacher_logits) {
    const auto normed_NxD = out.final_normed_BxTxD.reshape({-1, out.final_normed_BxTxD.size(-1)});
    const int64_t n = normed_NxD.size(0), rows = objectives::default_chunk_rows(teacher->config().vocab_size);
    std::vector<torch::Tensor> vals, idx, logz, counts;
    torch::Tensor uniforms_NxK;
    if (req.sampled) {
      std::vector<int64_t> ids = seq_ids;
      if (ids.empty())
        for (int64_t b = 0; b < input_BxT.size(0); ++b) ids.push_back(b);
      TORCH_CHECK(static_cast<int64_t>(ids.size()) == input_BxT.size(0), "forward_signals: one sequence id per row");
      uniforms_NxK = draw_uniforms(req.sample_seed, ids, input_BxT.size(1), req.top_k);
    }
    for (int64_t r0 = 0; r0 < n; r0 += rows) {
      const int64_t nr = std::min(rows, n - r0);
      auto logits_RxV = teacher->logits(normed_NxD.narrow(0, r0, nr));
      if (req.extra) logits_RxV = req.extra->restrict(logits_RxV);  // the shared ids only
      if (req.sampled) {
        auto d = sample_logits(logits_RxV, uniforms_NxK.narrow(0, r0, nr), req.logz_temperature);
        vals.push_back(d.vals_NxK);
        idx.push_back(d.idx_NxK);
        counts.push_back(d.counts_NxK);
        logz.push_back(d.logz_N);
        continue;
      }
      auto [v_RxK, i_RxK] =
          req.bf16_order ? cache_top_k(logits_RxV, req.top_k) : objectives::top_k_logits(logits_RxV, req.top_k);
      vals.push_back(v_RxK);
      idx.push_back(i_RxK);
      if (req.logz) logz.push_back(torch::logsumexp(logits_RxV.to(torch::kFloat32) / req.logz_temperature, -1));
    }
    auto cat = [](const std::vector<torch::Tensor>& v) { return v.size() == 1 ? v[0] : torch::cat(v); };
    s.vals_NxK = cat(vals);
    s.idx_NxK = cat(idx);
    if (req.logz) s.logz_N = cat(logz);
    if (req.sampled) s.counts_NxK = cat(counts);
  }
  if (needs.teacher_hidden) {
    for (int64_t m : req.hidden_layers) {
      auto h = out.hidden.at(m);
      s.hidden_NxD.push_back(h.reshape({-1, h.size(-1)}));
    }
  }
  return s;
}

config::ModelConfig teacher_shape(const config::ExperimentConfig& cfg) {
  if (cfg.teacher.model) return *cfg.teacher.model;
  HLD_INPUT_CHECK(!cfg.teacher.checkpoint.empty(), "teacher.checkpoint: objective '" +
                                                       std::string(config::to_string(cfg.objective.name)) +
                                                       "' needs a teacher (teacher.checkpoint or teacher.model)");
  const std::string dir = model::resolve_model_dir(cfg.teacher.checkpoint);
  if (fs::exists(fs::path(dir) / "model.yaml")) return config::load_model((fs::path(dir) / "model.yaml").string());
  const std::string cj = (fs::path(dir) / "config.json").string();
  return config::model_from_hf_json(util::read_file(cj), cj);
}

std::unique_ptr<TeacherSource> make_teacher(const config::ExperimentConfig& cfg, torch::Device device,
                                            bool parallel_decode, int64_t positions) {
  const config::ModelConfig shape = teacher_shape(cfg);  // its vocabulary: signal_request's shared_vocab rule
  const int64_t hint = cfg.teacher_hint_layer(shape);
  HLD_INPUT_CHECK(hint >= 1 && hint <= shape.num_layers,
                  "objective.teacher_layer = " + std::to_string(hint) + ": expected a block index in [1, " +
                      std::to_string(shape.num_layers) + "] (the teacher's depth)");
  const SignalRequest req = signal_request(cfg, shape);  // checks the pairs against the teacher's depth
  if (cfg.teacher.source == "cache") return make_cache_source(cfg, shape, hint, device, parallel_decode, positions);
  HLD_INPUT_CHECK(!cfg.teacher.checkpoint.empty(), "teacher.checkpoint: an online teacher needs a checkpoint");
  auto t = hf::load_model_any(cfg.teacher.checkpoint);
  HLD_INPUT_CHECK(t->config().num_layers == shape.num_layers && t->config().hidden_size == shape.hidden_size,
                  "teacher.model does not match the shape of teacher.checkpoint");
  t->to(device);
  return std::make_unique<OnlineTeacher>(t, req);
}

}  // namespace hld::teacher
