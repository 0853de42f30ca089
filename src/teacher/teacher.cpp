// Teacher sources: the online teacher, and the factory that validates a teacher against the run.
#include "hld/teacher/teacher.h"

#include <filesystem>

#include "hld/config/hf_config.h"
#include "hld/config/loader.h"
#include "hld/model/model_io.h"
#include "hld/objectives/chunked_lm_loss.h"
#include "hld/objectives/losses.h"
#include "hld/teacher/cache_source.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::teacher {

OnlineTeacher::OnlineTeacher(model::Transformer teacher, int64_t top_k, int64_t hint_layer)
    : teacher_(std::move(teacher)), top_k_(top_k), hint_layer_(hint_layer) {
  teacher_->eval();
  for (auto& p : teacher_->parameters()) p.set_requires_grad(false);
}

objectives::TeacherSignals OnlineTeacher::signals(const torch::Tensor& input, const std::vector<int64_t>&,
                                                  const objectives::Needs& needs) {
  return forward_signals(teacher_, input, needs, top_k_, hint_layer_);
}

objectives::TeacherSignals forward_signals(model::Transformer& teacher, const torch::Tensor& input_BxT,
                                           const objectives::Needs& needs, int64_t top_k, int64_t hint_layer) {
  torch::NoGradGuard ng;
  model::ForwardOptions fo;
  fo.logits = false;  // de-embedded chunk by chunk below
  if (needs.teacher_hidden) fo.hidden_layers = {hint_layer};
  if (needs.teacher_logits)
    fo.final_normed = true;
  else
    fo.stop_after = hint_layer;
  auto out = teacher->forward(input_BxT, fo);
  objectives::TeacherSignals s;
  if (needs.teacher_logits) {
    const auto normed_NxD = out.final_normed_BxTxD.reshape({-1, out.final_normed_BxTxD.size(-1)});
    const int64_t n = normed_NxD.size(0), rows = objectives::default_chunk_rows(teacher->config().vocab_size);
    std::vector<torch::Tensor> vals, idx;
    for (int64_t r0 = 0; r0 < n; r0 += rows) {
      auto [v_RxK, i_RxK] =
          objectives::top_k_logits(teacher->logits(normed_NxD.narrow(0, r0, std::min(rows, n - r0))), top_k);
      vals.push_back(v_RxK);
      idx.push_back(i_RxK);
    }
    s.vals_NxK = vals.size() == 1 ? vals[0] : torch::cat(vals);
    s.idx_NxK = idx.size() == 1 ? idx[0] : torch::cat(idx);
  }
  if (needs.teacher_hidden) {
    auto h = out.hidden.at(hint_layer);
    s.hidden_NxD = h.reshape({-1, h.size(-1)});
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
  const config::ModelConfig shape = teacher_shape(cfg);
  HLD_INPUT_CHECK(shape.vocab_size == cfg.model.vocab_size,
                  "teacher.checkpoint: the teacher's vocabulary (" + std::to_string(shape.vocab_size) +
                      ") differs from the student's (model.vocab_size = " + std::to_string(cfg.model.vocab_size) + ")");
  const int64_t hint = cfg.teacher_hint_layer(shape);
  HLD_INPUT_CHECK(hint >= 1 && hint <= shape.num_layers,
                  "objective.teacher_layer = " + std::to_string(hint) + ": expected a block index in [1, " +
                      std::to_string(shape.num_layers) + "] (the teacher's depth)");
  if (cfg.teacher.source == "cache") return make_cache_source(cfg, shape, hint, device, parallel_decode, positions);
  HLD_INPUT_CHECK(!cfg.teacher.checkpoint.empty(), "teacher.checkpoint: an online teacher needs a checkpoint");
  auto t = model::load_model_any(cfg.teacher.checkpoint);
  HLD_INPUT_CHECK(t->config().num_layers == shape.num_layers && t->config().hidden_size == shape.hidden_size,
                  "teacher.model does not match the shape of teacher.checkpoint");
  t->to(device);
  return std::make_unique<OnlineTeacher>(t, cfg.objective.top_k, hint);
}

}  // namespace hld::teacher
