// Hugging Face Gemma 3 `config.json` ⇄ ModelConfig. Reads both the flat RoPE fields
// (rope_theta, rope_local_base_freq, rope_scaling) and the newer
// rope_parameters: {sliding_attention: {...}, full_attention: {...}}, and a
// Gemma3ForConditionalGeneration config's `text_config` (fields it leaves out take
// Gemma3TextConfig's defaults, as transformers does). Anything the model cannot reproduce exactly (soft-capping, other
// activations, untied heads, other RoPE types) is refused with the key named.
#pragma once

#include <string>

#include "hld/config/model_config.h"

namespace hld::config {

/// Parses config.json text (`what` names the file in errors).
ModelConfig model_from_hf_json(const std::string& json_text, const std::string& what);

/// The transformers release whose config.json layout model_to_hf_json() reproduces (the one that
/// made the parity fixture).
inline constexpr const char* kHfFormatVersion = "5.17.0";

/// Writes a complete Gemma3ForCausalLM config.json for `m`, every field that transformers 5
/// writes for a Gemma3TextConfig, in its order; `dtype` is the weights' ("float32", "bfloat16").
std::string model_to_hf_json(const ModelConfig& m, const std::string& dtype = "float32");

}  // namespace hld::config
