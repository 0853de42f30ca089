// Gemma 3 text-decoder shape: the fields of Hugging Face's Gemma3TextConfig that matter for the
// forward pass, plus pure functions of the shape (layer types, parameter counts).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hld::config {

enum class AttentionType { kSliding, kGlobal };

struct ModelConfig {
  std::string name = "model";                ///< label used in logs and reports
  int64_t vocab_size = 32000;                ///< paper: 32k SentencePiece unigram vocabulary
  int64_t hidden_size = 640;                 ///< d_model
  int64_t intermediate_size = 2048;          ///< feed-forward width
  int64_t num_layers = 18;                   ///< D, number of decoder blocks
  int64_t num_heads = 4;                     ///< query heads
  int64_t num_kv_heads = 1;                  ///< key/value heads (GQA)
  int64_t head_dim = 256;                    ///< per-head width (independent of hidden_size in Gemma 3)
  double query_pre_attn_scalar = 256;        ///< attention scale = query_pre_attn_scalar^-0.5
  int64_t sliding_window = 512;              ///< W: key j visible from query q iff q-W < j <= q
  int64_t sliding_window_pattern = 6;        ///< layer i is global iff (i+1) % pattern == 0
  std::vector<AttentionType> layer_types;    ///< explicit per-layer types; empty = from pattern
  double rope_local_base = 10000.0;          ///< RoPE base on sliding layers
  double rope_global_base = 1000000.0;       ///< RoPE base on global layers
  double rope_local_scaling = 1.0;           ///< linear position scaling factor on sliding layers
  double rope_global_scaling = 1.0;          ///< linear position scaling factor on global layers (4B: 8)
  double rms_norm_eps = 1e-6;                ///< RMSNorm epsilon
  double init_std = 0.02;                    ///< std of the normal init of every matrix (HF's initializer_range)
  int64_t max_position_embeddings = 131072;  ///< longest context the config promises
  int64_t bos_token_id = 2, eos_token_id = 1, pad_token_id = 0;

  /// Attention type of layer i (explicit list, else the sliding-window pattern).
  AttentionType layer_type(int64_t i) const;
  /// Human-readable problems with the shape ("" when valid); `path` prefixes key names.
  std::string validate(const std::string& path) const;
};

/// Exact parameter counts. Backbone = everything but the (tied) embedding matrix.
struct ParamCounts {
  int64_t embedding = 0;
  int64_t per_layer = 0;
  int64_t backbone = 0;
  int64_t total = 0;
  /// Parameters of the embedding + first m blocks (what HLDF phase 1 trains, without regressor).
  int64_t first_blocks(int64_t m) const { return embedding + per_layer * m; }
};
ParamCounts count_params(const ModelConfig& m);

}  // namespace hld::config
