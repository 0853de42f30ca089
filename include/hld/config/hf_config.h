// Hugging Face Gemma 3 `config.json` ⇄ ModelConfig. Reads both the flat RoPE fields
// (rope_theta, rope_local_base_freq, rope_scaling) and the newer
// rope_parameters: {sliding_attention: {...}, full_attention: {...}}, and a multimodal config's
// `text_config`. Anything the model cannot reproduce exactly (soft-capping, other activations,
// untied heads, other RoPE types) is refused with the key named.
#pragma once

#include <string>

#include "hld/config/model_config.h"

namespace hld::config {

/// Parses config.json text (`what` names the file in errors).
ModelConfig model_from_hf_json(const std::string& json_text, const std::string& what);

/// Writes a transformers-5 style Gemma3ForCausalLM config.json for `m`.
std::string model_to_hf_json(const ModelConfig& m);

}  // namespace hld::config
