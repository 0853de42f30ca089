// Hugging Face Gemma 3 config.json parsing and writing.
#include "hld/config/hf_config.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "hld/util/error.h"

namespace hld::config {
namespace {

using nlohmann::json;

// A config value for an error message: scalars as written (cut at 80 characters), arrays and
// objects by type only: dumping a hostile, deeply nested value recurses once per level.
std::string describe(const json& v) {
  if (v.is_structured()) return std::string("(a JSON ") + v.type_name() + ")";
  std::string s = v.dump();
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

// The string `key` of `j` (`def` when absent or null); InputError naming `where`.key otherwise.
std::string get_str(const json& j, const char* key, const std::string& def, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_string()) throw InputError(where + ": " + key + " = " + describe(j[key]) + ": expected a string");
  return j[key].get<std::string>();
}

struct RopeSpec {
  double theta;
  double factor = 1.0;
};

RopeSpec parse_rope(const json& r, double default_theta, const std::string& where, const std::string& what) {
  RopeSpec s{default_theta};
  if (r.is_null()) return s;
  if (!r.is_object()) throw InputError(what + ": " + where + ": expected an object");
  std::string type = get_str(r, "rope_type", get_str(r, "type", "default", what + ": " + where), what + ": " + where);
  if (r.contains("rope_theta") && r["rope_theta"].is_number()) s.theta = r["rope_theta"].get<double>();
  if (type == "linear") {
    if (!r.contains("factor") || !r["factor"].is_number())
      throw InputError(what + ": " + where + ".factor: expected a number for linear RoPE scaling");
    s.factor = r["factor"].get<double>();
  } else if (type != "default") {
    throw InputError(what + ": " + where + ".rope_type = '" + type + "': only default and linear are supported");
  }
  return s;
}

int64_t get_int(const json& j, const char* key, int64_t def, const std::string& what) {
  if (!j.contains(key) || j[key].is_null()) return def;
  const json& v = j[key];
  if (v.is_array() && !v.empty() && v[0].is_number_integer()) return v[0].get<int64_t>();
  if (!v.is_number_integer()) throw InputError(what + ": " + key + " = " + describe(v) + ": expected an integer");
  return v.get<int64_t>();
}

double get_num(const json& j, const char* key, double def, const std::string& what) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_number()) throw InputError(what + ": " + key + " = " + describe(j[key]) + ": expected a number");
  return j[key].get<double>();
}

}  // namespace

ModelConfig model_from_hf_json(const std::string& text, const std::string& what) {
  json root;
  try {
    root = json::parse(text);
  } catch (const std::exception& e) {
    throw InputError(what + ": invalid JSON: " + e.what());
  }
  if (!root.is_object()) throw InputError(what + ": expected a JSON object");
  // architectures: absent or null (as transformers writes for a bare config), or Gemma 3 classes.
  bool conditional = get_str(root, "model_type", "", what) == "gemma3";
  if (root.contains("architectures") && !root["architectures"].is_null()) {
    const json& a = root["architectures"];
    if (!a.is_array()) throw InputError(what + ": architectures = " + describe(a) + ": expected a list of names");
    for (const auto& v : a) {
      const std::string s = v.is_string() ? v.get<std::string>() : describe(v);
      if (s == "Gemma3ForConditionalGeneration" || s == "Gemma3Model")
        conditional = true;
      else if (s != "Gemma3ForCausalLM" && s != "Gemma3TextModel")
        throw InputError(
            what + ": architectures: '" + s +
            "': expected Gemma3ForCausalLM, Gemma3TextModel, Gemma3ForConditionalGeneration or Gemma3Model");
    }
  }
  if (root.contains("text_config") && !root["text_config"].is_null() && !root["text_config"].is_object())
    throw InputError(what + ": text_config = " + describe(root["text_config"]) + ": expected an object");
  if (conditional && !(root.contains("text_config") && root["text_config"].is_object()))
    throw InputError(what + ": a Gemma3ForConditionalGeneration config needs a text_config object");
  const json& j = root.contains("text_config") && root["text_config"].is_object() ? root["text_config"] : root;
  const std::string mt = get_str(j, "model_type", "gemma3_text", what);
  if (mt != "gemma3_text" && mt != "gemma3")
    throw InputError(what + ": model_type = '" + mt + "': expected gemma3_text");
  for (const char* cap : {"final_logit_softcapping", "attn_logit_softcapping"})
    if (j.contains(cap) && !j[cap].is_null())
      throw InputError(what + ": " + cap + " = " + describe(j[cap]) +
                       ": soft-capping is not supported (expected null)");
  const std::string act = get_str(j, "hidden_activation", "gelu_pytorch_tanh", what);
  if (act != "gelu_pytorch_tanh")
    throw InputError(what + ": hidden_activation = '" + act + "': expected gelu_pytorch_tanh");
  if (j.contains("tie_word_embeddings") && j["tie_word_embeddings"].is_boolean() &&
      !j["tie_word_embeddings"].get<bool>())
    throw InputError(what + ": tie_word_embeddings = false: only tied output heads are supported");
  if (j.contains("use_bidirectional_attention") && !j["use_bidirectional_attention"].is_null() &&
      !(j["use_bidirectional_attention"].is_boolean() && !j["use_bidirectional_attention"].get<bool>()))
    throw InputError(what + ": use_bidirectional_attention = " + describe(j["use_bidirectional_attention"]) +
                     ": only causal attention is supported (expected false)");

  ModelConfig m;
  m.name = get_str(j, "_name_or_path", "", what);
  if (m.name.empty()) m.name = "hf-gemma3";
  m.vocab_size = get_int(j, "vocab_size", 262208, what);
  m.hidden_size = get_int(j, "hidden_size", 2304, what);
  m.intermediate_size = get_int(j, "intermediate_size", 9216, what);
  m.num_layers = get_int(j, "num_hidden_layers", 26, what);
  m.num_heads = get_int(j, "num_attention_heads", 8, what);
  m.num_kv_heads = get_int(j, "num_key_value_heads", 4, what);
  m.head_dim = get_int(j, "head_dim", 256, what);
  m.query_pre_attn_scalar = get_num(j, "query_pre_attn_scalar", 256, what);
  m.sliding_window = get_int(j, "sliding_window", 4096, what);
  m.sliding_window_pattern = get_int(j, "sliding_window_pattern", get_int(j, "_sliding_window_pattern", 6, what), what);
  m.rms_norm_eps = get_num(j, "rms_norm_eps", 1e-6, what);
  m.init_std = get_num(j, "initializer_range", 0.02, what);
  m.max_position_embeddings = get_int(j, "max_position_embeddings", 131072, what);
  m.bos_token_id = get_int(j, "bos_token_id", 2, what);
  m.eos_token_id = get_int(j, "eos_token_id", 1, what);
  m.pad_token_id = get_int(j, "pad_token_id", 0, what);
  if (j.contains("layer_types") && j["layer_types"].is_array()) {
    for (const auto& t : j["layer_types"]) {
      const std::string s = t.is_string() ? t.get<std::string>() : describe(t);
      if (s == "sliding_attention")
        m.layer_types.push_back(AttentionType::kSliding);
      else if (s == "full_attention")
        m.layer_types.push_back(AttentionType::kGlobal);
      else
        throw InputError(what + ": layer_types: '" + s + "': expected sliding_attention or full_attention");
    }
  }
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    const json& rp = j["rope_parameters"];
    if (rp.contains("sliding_attention") || rp.contains("full_attention")) {
      auto local =
          parse_rope(rp.value("sliding_attention", json()), 10000.0, "rope_parameters.sliding_attention", what);
      auto global = parse_rope(rp.value("full_attention", json()), 1000000.0, "rope_parameters.full_attention", what);
      m.rope_local_base = local.theta, m.rope_local_scaling = local.factor;
      m.rope_global_base = global.theta, m.rope_global_scaling = global.factor;
    } else {  // a single rope_parameters block applies to global layers (flat-style)
      auto global = parse_rope(rp, get_num(j, "rope_theta", 1000000.0, what), "rope_parameters", what);
      m.rope_global_base = global.theta, m.rope_global_scaling = global.factor;
      m.rope_local_base = get_num(j, "rope_local_base_freq", 10000.0, what);
    }
  } else {
    m.rope_global_base = get_num(j, "rope_theta", 1000000.0, what);
    m.rope_local_base = get_num(j, "rope_local_base_freq", 10000.0, what);
    if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
      auto g = parse_rope(j["rope_scaling"], m.rope_global_base, "rope_scaling", what);
      m.rope_global_scaling = g.factor;
    }
  }
  const std::string errs = m.validate("");
  if (!errs.empty()) throw InputError(what + ": " + errs);
  return m;
}

std::string model_to_hf_json(const ModelConfig& m, const std::string& dtype) {
  // The order and the generic PretrainedConfig fields are those transformers 5 writes (see
  // tests/data/hf_gemma3_tiny/config.json, written by transformers 5.17).
  nlohmann::ordered_json j;
  j["transformers_version"] = kHfFormatVersion;
  j["architectures"] = {"Gemma3ForCausalLM"};
  j["output_hidden_states"] = false;
  j["return_dict"] = true;
  j["dtype"] = dtype;
  j["chunk_size_feed_forward"] = 0;
  j["is_encoder_decoder"] = false;
  j["id2label"] = {{"0", "LABEL_0"}, {"1", "LABEL_1"}};
  j["label2id"] = {{"LABEL_0", 0}, {"LABEL_1", 1}};
  j["problem_type"] = nullptr;
  j["vocab_size"] = m.vocab_size;
  j["hidden_size"] = m.hidden_size;
  j["intermediate_size"] = m.intermediate_size;
  j["num_hidden_layers"] = m.num_layers;
  j["num_attention_heads"] = m.num_heads;
  j["num_key_value_heads"] = m.num_kv_heads;
  j["head_dim"] = m.head_dim;
  j["hidden_activation"] = "gelu_pytorch_tanh";
  j["max_position_embeddings"] = m.max_position_embeddings;
  j["initializer_range"] = m.init_std;
  j["rms_norm_eps"] = m.rms_norm_eps;
  j["use_cache"] = true;
  j["pad_token_id"] = m.pad_token_id;
  j["eos_token_id"] = m.eos_token_id;
  j["bos_token_id"] = m.bos_token_id;
  j["tie_word_embeddings"] = true;
  auto rope = [](double theta, double factor) {
    nlohmann::ordered_json r = {{"rope_type", factor != 1.0 ? "linear" : "default"}};
    if (factor != 1.0) r["factor"] = factor;
    r["rope_theta"] = theta;
    return r;
  };
  j["rope_parameters"] = {{"sliding_attention", rope(m.rope_local_base, m.rope_local_scaling)},
                          {"full_attention", rope(m.rope_global_base, m.rope_global_scaling)}};
  j["attention_bias"] = false;
  j["attention_dropout"] = 0.0;
  // An integer in transformers' Gemma3TextConfig (5.x validates the type): 256, not 256.0.
  const double qpas = m.query_pre_attn_scalar;
  if (qpas == std::floor(qpas) && std::abs(qpas) < 9e15)
    j["query_pre_attn_scalar"] = static_cast<int64_t>(qpas);
  else
    j["query_pre_attn_scalar"] = qpas;
  j["sliding_window"] = m.sliding_window;
  nlohmann::ordered_json types = nlohmann::ordered_json::array();
  for (int64_t i = 0; i < m.num_layers; ++i)
    types.push_back(m.layer_type(i) == AttentionType::kGlobal ? "full_attention" : "sliding_attention");
  j["layer_types"] = types;
  j["final_logit_softcapping"] = nullptr;
  j["attn_logit_softcapping"] = nullptr;
  j["use_bidirectional_attention"] = false;
  j["_sliding_window_pattern"] = m.sliding_window_pattern;
  j["_name_or_path"] = "";
  j["model_type"] = "gemma3_text";
  j["output_attentions"] = false;
  return j.dump(1) + "\n";
}

}  // namespace hld::config
