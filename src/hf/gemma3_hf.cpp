// Hugging Face Gemma 3 import/export and reference parity.
#include "hld/hf/gemma3_hf.h"

#include <filesystem>
#include <regex>
#include <set>

#include "hld/config/hf_config.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::hf {
namespace {

std::string strip_prefix(const std::string& n) {
  for (const char* p : {"model.language_model.", "language_model.model.", "model."})
    if (n.rfind(p, 0) == 0) return n.substr(std::strlen(p));
  return n;
}

}  // namespace

void load_hf_weights(model::Transformer& m, const io::TensorMap& hf, const std::string& what) {
  auto params = m->named_parameters();
  std::set<std::string> loaded;
  torch::NoGradGuard ng;
  for (const auto& [hf_name, t] : hf) {
    if (hf_name == "lm_head.weight" || hf_name == "language_model.lm_head.weight") {
      // Tied head: accept it only if it equals the embedding (checked after loading).
      continue;
    }
    const std::string name = strip_prefix(hf_name);
    auto* p = params.find(name);
    if (!p) {
      if (hf_name.find("vision_tower") != std::string::npos || hf_name.find("multi_modal") != std::string::npos)
        continue;  // multimodal checkpoints: text weights only
      throw InputError(what + ": unexpected tensor '" + hf_name + "' (not part of a Gemma 3 text model of this shape)");
    }
    if (p->sizes() != t.sizes())
      throw InputError(what + ": tensor '" + hf_name + "' has shape " + c10::str(t.sizes()) + ", expected " +
                       c10::str(p->sizes()));
    if (!t.is_floating_point())
      throw InputError(what + ": tensor '" + hf_name + "' has dtype " + c10::toString(t.scalar_type()) +
                       ", expected a floating-point type");
    p->copy_(t.to(p->scalar_type()));
    loaded.insert(name);
  }
  for (const auto& p : params)
    if (!loaded.count(p.key())) throw InputError(what + ": missing tensor 'model." + p.key() + "'");
  for (const char* head : {"lm_head.weight", "language_model.lm_head.weight"}) {
    auto it = hf.find(head);
    if (it != hf.end() && !torch::equal(it->second.to(torch::kFloat32), m->embed_tokens->weight.to(torch::kFloat32)))
      throw InputError(what + ": '" + head + "' differs from the embedding: untied output heads are not supported");
  }
}

io::TensorMap hf_state_dict(model::Transformer& m) {
  io::TensorMap out;
  for (const auto& p : m->named_parameters()) out.emplace("model." + p.key(), p.value().detach());
  return out;
}

model::Transformer load_hf_dir(const std::string& dir) {
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  const std::string w_path = (fs::path(dir) / "model.safetensors").string();
  HLD_INPUT_CHECK(fs::exists(cfg_path), "'" + cfg_path + "' does not exist (expected a Hugging Face model directory)");
  HLD_INPUT_CHECK(fs::exists(w_path), "'" + w_path + "' does not exist (sharded checkpoints: merge them first)");
  auto cfg = config::model_from_hf_json(util::read_file(cfg_path), cfg_path);
  model::Transformer m(cfg);
  load_hf_weights(m, io::load_safetensors(w_path).tensors, w_path);
  return m;
}

void export_hf_dir(model::Transformer& m, const std::string& dir) {
  fs::create_directories(dir);
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), hf_state_dict(m), {{"format", "pt"}});
  util::write_file_atomic((fs::path(dir) / "config.json").string(), config::model_to_hf_json(m->config()));
}

VerifyResult verify_hf_dir(const std::string& dir, torch::ScalarType dtype) {
  model::Transformer m = load_hf_dir(dir);
  m->to(dtype);
  m->eval();
  const std::string ref_path = (fs::path(dir) / "reference.safetensors").string();
  HLD_INPUT_CHECK(fs::exists(ref_path), "'" + ref_path + "' does not exist");
  auto ref = io::load_safetensors(ref_path).tensors;
  auto ids_it = ref.find("input_ids");
  HLD_INPUT_CHECK(ids_it != ref.end(), ref_path + ": no 'input_ids' tensor");
  auto ids = ids_it->second;
  HLD_INPUT_CHECK(ids.dim() == 2 && !ids.is_floating_point(), ref_path + ": 'input_ids' must be a 2-D integer tensor");
  ids = ids.to(torch::kInt64);
  HLD_INPUT_CHECK(ids.min().item<int64_t>() >= 0 && ids.max().item<int64_t>() < m->config().vocab_size,
                  ref_path + ": 'input_ids' has ids outside [0, vocab_size)");

  model::ForwardOptions opts;
  for (int64_t i = 0; i <= m->config().num_layers; ++i) opts.hidden_layers.push_back(i);
  opts.final_normed = true;
  torch::NoGradGuard ng;
  auto out = m->forward(ids, opts);
  auto logits = out.logits_BxTxV.to(torch::kFloat32);
  auto loss =
      torch::nn::functional::cross_entropy(logits.narrow(1, 0, logits.size(1) - 1).reshape({-1, logits.size(2)}),
                                           ids.narrow(1, 1, ids.size(1) - 1).reshape({-1}));

  VerifyResult res;
  static const std::regex layer_re("layer_(\\d+)_out");
  for (const auto& [name, r] : ref) {
    if (name == "input_ids") continue;
    torch::Tensor ours;
    std::smatch mt;
    if (name == "logits")
      ours = logits;
    else if (name == "loss")
      ours = loss.reshape(r.sizes());
    else if (name == "embeddings")
      ours = out.hidden.at(0);
    else if (name == "final_normed")
      ours = out.final_normed_BxTxD;
    else if (std::regex_match(name, mt, layer_re)) {
      const int64_t i = std::stoll(mt[1].str());
      if (i >= 0 && i < m->config().num_layers) ours = out.hidden.at(i + 1);
    }
    if (!ours.defined() || ours.sizes() != r.sizes()) {
      res.tensors.push_back({name, 0.0, false});
      continue;
    }
    auto rf = r.to(torch::kFloat64), of = ours.to(torch::kFloat64);
    const double denom = std::max(rf.abs().max().item<double>(), 1e-30);
    const double err = (of - rf).abs().max().item<double>() / denom;
    res.tensors.push_back({name, err, true});
    res.worst = std::max(res.worst, err);
  }
  return res;
}

}  // namespace hld::hf
