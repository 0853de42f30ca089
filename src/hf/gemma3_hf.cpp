// Hugging Face Gemma 3 import/export and reference parity.
#include "hld/hf/gemma3_hf.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <regex>
#include <set>

#include "hld/config/hf_config.h"
#include "hld/data/tokenizer.h"
#include "hld/hf/hf_tokenizer.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::hf {
namespace {

std::string strip_prefix(const std::string& n) {
  for (const char* p : {"model.language_model.", "language_model.model.", "language_model.", "model."})
    if (n.rfind(p, 0) == 0) return n.substr(std::strlen(p));
  return n;
}

bool is_head(const std::string& n) {
  return n == "lm_head.weight" || n == "language_model.lm_head.weight" || n == "model.lm_head.weight";
}

// Gemma3ForConditionalGeneration's image side: not part of the text decoder.
bool is_multimodal(const std::string& n) {
  return n.find("vision_tower.") != std::string::npos || n.find("multi_modal_projector.") != std::string::npos;
}

bool is_float(io::DType d) {
  return d == io::DType::kF32 || d == io::DType::kBF16 || d == io::DType::kF16 || d == io::DType::kF64;
}

// Reference tensors under this prefix are gradients: "grad.model.layers.0.mlp.up_proj.weight".
constexpr const char* kGradPrefix = "grad.";

const char* dtype_label(torch::ScalarType t) { return t == torch::kBFloat16 ? "bfloat16" : "float32"; }

}  // namespace

ImportStats load_hf_weights(model::Transformer& m, const HfWeights& w) {
  auto params = m->named_parameters();
  std::set<std::string> loaded, dtypes;
  std::vector<std::string> heads;
  ImportStats st;
  st.files = w.num_files();
  st.sharded = w.sharded();
  torch::NoGradGuard ng;
  for (const auto& hf_name : w.names()) {
    const auto& file = w.file_of(hf_name);
    const io::TensorEntry& e = w.entry(hf_name);
    if (is_head(hf_name)) {  // tied head: accepted only if it equals the embedding (checked below)
      heads.push_back(hf_name);
      continue;
    }
    if (is_multimodal(hf_name)) {
      ++st.ignored;
      st.ignored_bytes += e.end - e.begin;
      continue;
    }
    const std::string name = strip_prefix(hf_name);
    auto* p = params.find(name);
    HLD_INPUT_CHECK(
        p, file.path() + ": unexpected tensor '" + hf_name + "' (not part of a Gemma 3 text model of this shape)");
    HLD_INPUT_CHECK(p->sizes() == c10::IntArrayRef(e.shape), file.path() + ": tensor '" + hf_name + "' has shape " +
                                                                 c10::str(c10::IntArrayRef(e.shape)) + ", expected " +
                                                                 c10::str(p->sizes()));
    HLD_INPUT_CHECK(is_float(e.dtype), file.path() + ": tensor '" + hf_name + "' has dtype " + io::dtype_name(e.dtype) +
                                           ", expected F32, BF16 or F16");
    HLD_INPUT_CHECK(loaded.insert(name).second,
                    file.path() + ": tensor '" + hf_name + "' is a second copy of '" + name + "' under another prefix");
    p->copy_(file.view(hf_name));  // bf16/f16 → float32 straight from the mapping
    file.release(hf_name);
    dtypes.insert(io::dtype_name(e.dtype));
    ++st.loaded;
  }
  for (const auto& p : params)
    HLD_INPUT_CHECK(loaded.count(p.key()), w.dir() + ": missing tensor 'model." + p.key() + "'");
  for (const auto& head : heads) {
    const auto& file = w.file_of(head);
    HLD_INPUT_CHECK(torch::equal(file.view(head).to(torch::kFloat32), m->embed_tokens->weight.to(torch::kFloat32)),
                    file.path() + ": '" + head + "' differs from the embedding: untied output heads are not supported");
  }
  st.dtypes.assign(dtypes.begin(), dtypes.end());
  return st;
}

io::TensorMap hf_state_dict(model::Transformer& m) {
  io::TensorMap out;
  for (const auto& p : m->named_parameters()) out.emplace("model." + p.key(), p.value().detach());
  return out;
}

model::Transformer load_hf_dir(const std::string& dir, ImportStats* stats) {
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  HLD_INPUT_CHECK(fs::exists(cfg_path), "'" + cfg_path + "' does not exist (expected a Hugging Face model directory)");
  auto cfg = config::model_from_hf_json(util::read_file(cfg_path), cfg_path);
  const HfWeights weights(dir);
  model::Transformer m(cfg);
  const ImportStats st = load_hf_weights(m, weights);
  if (stats) *stats = st;
  return m;
}

std::vector<std::string> export_hf_dir(model::Transformer& m, const std::string& dir, const ExportOptions& o) {
  HLD_INPUT_CHECK(o.dtype == torch::kFloat32 || o.dtype == torch::kBFloat16,
                  "export-hf: --dtype must be float32 or bfloat16");
  const auto& cfg = m->config();
  if (!o.tokenizer.empty()) {  // checked before anything is written
    const data::Tokenizer tok(o.tokenizer);
    HLD_INPUT_CHECK(tok.vocab_size() <= cfg.vocab_size,
                    "export-hf: tokenizer '" + o.tokenizer + "' has " + std::to_string(tok.vocab_size()) +
                        " pieces, more than the model's vocab_size " + std::to_string(cfg.vocab_size));
  }
  fs::create_directories(dir);
  std::vector<std::string> written = write_hf_weights(dir, hf_state_dict(m), o.max_shard_bytes, o.dtype);
  util::write_file_atomic((fs::path(dir) / "config.json").string(),
                          config::model_to_hf_json(cfg, dtype_label(o.dtype)));
  written.push_back("config.json");
  // What transformers' GenerationConfig.from_model_config writes for this config.
  nlohmann::ordered_json gen = {{"_from_model_config", true},
                                {"bos_token_id", cfg.bos_token_id},
                                {"eos_token_id", cfg.eos_token_id},
                                {"pad_token_id", cfg.pad_token_id},
                                {"transformers_version", config::kHfFormatVersion}};
  util::write_file_atomic((fs::path(dir) / "generation_config.json").string(), gen.dump(2) + "\n");
  written.push_back("generation_config.json");
  if (!o.tokenizer.empty())
    for (auto& f : write_hf_tokenizer(o.tokenizer, dir, cfg.max_position_embeddings, o.add_bos)) written.push_back(f);
  return written;
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
  // Gradients are compared when the reference holds any (`grad.<HF name>`, d loss / d parameter).
  bool with_grad = false;
  for (const auto& [name, r] : ref) with_grad |= name.rfind(kGradPrefix, 0) == 0;

  model::ForwardOptions opts;
  for (int64_t i = 0; i <= m->config().num_layers; ++i) opts.hidden_layers.push_back(i);
  opts.final_normed = true;
  torch::AutoGradMode grad_mode(with_grad);
  auto out = m->forward(ids, opts);
  auto logits_BxTxV = out.logits_BxTxV.to(torch::kFloat32);
  // The reference's loss: mean next-token NLL with labels = input_ids (transformers' ForCausalLMLoss).
  auto loss = torch::nn::functional::cross_entropy(
      logits_BxTxV.narrow(1, 0, logits_BxTxV.size(1) - 1).reshape({-1, logits_BxTxV.size(2)}),
      ids.narrow(1, 1, ids.size(1) - 1).reshape({-1}));
  if (with_grad) loss.backward();
  auto params = m->named_parameters();

  VerifyResult res;
  static const std::regex layer_re("layer_(\\d+)_out");
  for (const auto& [name, r] : ref) {
    if (name == "input_ids") continue;
    torch::Tensor ours;
    std::smatch mt;
    if (name == "logits")
      ours = logits_BxTxV;
    else if (name == "loss")
      ours = loss.reshape(r.sizes());
    else if (name == "embeddings")
      ours = out.hidden.at(0);
    else if (name == "final_normed")
      ours = out.final_normed_BxTxD;
    else if (std::regex_match(name, mt, layer_re)) {
      const int64_t i = std::stoll(mt[1].str());
      if (i >= 0 && i < m->config().num_layers) ours = out.hidden.at(i + 1);
    } else if (name.rfind(kGradPrefix, 0) == 0) {
      const auto* p = params.find(strip_prefix(name.substr(std::strlen(kGradPrefix))));
      if (p && p->grad().defined()) ours = p->grad();
    }
    if (!ours.defined() || ours.sizes() != r.sizes()) {
      res.tensors.push_back({name, 0.0, false});
      continue;
    }
    if (name == "logits") {  // the next-token choice: arg-max agreement per position
      auto same = ours.detach().argmax(-1).eq(r.argmax(-1));
      res.top1_positions = same.numel();
      res.top1_agreement = same.to(torch::kFloat64).mean().item<double>();
    }
    auto rf = r.to(torch::kFloat64), of = ours.detach().to(torch::kFloat64);
    const double denom = std::max(rf.abs().max().item<double>(), 1e-30);
    const double err = (of - rf).abs().max().item<double>() / denom;
    res.tensors.push_back({name, err, true});
    res.worst = std::max(res.worst, err);
  }
  return res;
}

}  // namespace hld::hf
