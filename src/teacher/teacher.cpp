// Teacher sources: the online teacher, and the factory that validates a teacher against the run.
#include "hld/teacher/teacher.h"

#include <filesystem>

#include "hld/config/hf_config.h"
#include "hld/config/loader.h"
#include "hld/model/model_io.h"
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
  torch::NoGradGuard ng;
  model::ForwardOptions fo;
  if (needs.teacher_hidden) fo.hidden_layers = {hint_layer_};
  if (!needs.teacher_logits) {
    fo.stop_after = hint_layer_;
    fo.logits = false;
  }
  auto out = teacher_->forward(input, fo);
  objectives::TeacherSignals s;
  if (needs.teacher_logits) {
    auto l = out.logits_BxTxV;
    std::tie(s.vals_NxK, s.idx_NxK) = objectives::top_k_logits(l.reshape({-1, l.size(-1)}), top_k_);
  }
  if (needs.teacher_hidden) {
    auto h = out.hidden.at(hint_layer_);
    s.hidden_NxD = h.reshape({-1, h.size(-1)});
  }
  return s;
}

config::ModelConfig teacher_shape(const config::ExperimentConfig& cfg) {
  if (cfg.teacher.model) return *cfg.teacher.model;
  HLD_INPUT_CHECK(!cfg.teacher.checkpoint.empty(),
                  "teacher.checkpoint: objective '" + std::string(config::to_string(cfg.objective.name)) +
                      "' needs a teacher (teacher.checkpoint or teacher.model)");
  const std::string dir = model::resolve_model_dir(cfg.teacher.checkpoint);
  if (fs::exists(fs::path(dir) / "model.yaml")) return config::load_model((fs::path(dir) / "model.yaml").string());
  const std::string cj = (fs::path(dir) / "config.json").string();
  return config::model_from_hf_json(util::read_file(cj), cj);
}

std::unique_ptr<TeacherSource> make_teacher(const config::ExperimentConfig& cfg, torch::Device device,
                                            bool parallel_decode) {
  const config::ModelConfig shape = teacher_shape(cfg);
  HLD_INPUT_CHECK(shape.vocab_size == cfg.model.vocab_size,
                  "teacher.checkpoint: the teacher's vocabulary (" + std::to_string(shape.vocab_size) +
                      ") differs from the student's (model.vocab_size = " + std::to_string(cfg.model.vocab_size) + ")");
  const int64_t hint = cfg.objective.teacher_layer > 0 ? cfg.objective.teacher_layer : shape.num_layers / 2;
  HLD_INPUT_CHECK(hint >= 1 && hint <= shape.num_layers,
                  "objective.teacher_layer = " + std::to_string(hint) + ": expected a block index in [1, " +
                      std::to_string(shape.num_layers) + "] (the teacher's depth)");
  if (cfg.teacher.source == "cache") return make_cache_source(cfg, shape, hint, device, parallel_decode);
  HLD_INPUT_CHECK(!cfg.teacher.checkpoint.empty(), "teacher.checkpoint: an online teacher needs a checkpoint");
  auto t = model::load_model_any(cfg.teacher.checkpoint);
  HLD_INPUT_CHECK(t->config().num_layers == shape.num_layers && t->config().hidden_size == shape.hidden_size,
                  "teacher.model does not match the shape of teacher.checkpoint");
  t->to(device);
  return std::make_unique<OnlineTeacher>(t, cfg.objective.top_k, hint);
}

}  // namespace hld::teacher
