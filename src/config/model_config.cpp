// Gemma 3 shape helpers: layer types, validation and exact parameter counts.
#include "hld/config/model_config.h"

#include <sstream>

namespace hld::config {

AttentionType ModelConfig::layer_type(int64_t i) const {
  if (!layer_types.empty()) return layer_types.at(static_cast<size_t>(i));
  return ((i + 1) % sliding_window_pattern == 0) ? AttentionType::kGlobal : AttentionType::kSliding;
}

std::string ModelConfig::validate(const std::string& p) const {
  std::ostringstream err;
  auto positive = [&](const char* key, double v) {
    if (!(v > 0)) err << p << key << " = " << v << ": expected a positive value\n";
  };
  positive("vocab_size", static_cast<double>(vocab_size));
  positive("hidden_size", static_cast<double>(hidden_size));
  positive("intermediate_size", static_cast<double>(intermediate_size));
  positive("num_layers", static_cast<double>(num_layers));
  positive("num_heads", static_cast<double>(num_heads));
  positive("num_kv_heads", static_cast<double>(num_kv_heads));
  positive("head_dim", static_cast<double>(head_dim));
  positive("query_pre_attn_scalar", query_pre_attn_scalar);
  positive("sliding_window", static_cast<double>(sliding_window));
  positive("sliding_window_pattern", static_cast<double>(sliding_window_pattern));
  positive("rope_local_base", rope_local_base);
  positive("rope_global_base", rope_global_base);
  positive("rope_local_scaling", rope_local_scaling);
  positive("rope_global_scaling", rope_global_scaling);
  positive("rms_norm_eps", rms_norm_eps);
  positive("init_std", init_std);
  if (num_heads > 0 && num_kv_heads > 0 && num_heads % num_kv_heads != 0)
    err << p << "num_heads = " << num_heads << ": expected a multiple of num_kv_heads (" << num_kv_heads << ")\n";
  if (head_dim > 0 && head_dim % 2 != 0)
    err << p << "head_dim = " << head_dim << ": expected an even value (rotary embedding)\n";
  if (!layer_types.empty() && static_cast<int64_t>(layer_types.size()) != num_layers)
    err << p << "layer_types has " << layer_types.size() << " entries: expected num_layers (" << num_layers << ")\n";
  if (vocab_size > (int64_t(1) << 31)) err << p << "vocab_size = " << vocab_size << ": expected at most 2^31\n";
  return err.str();
}

ParamCounts count_params(const ModelConfig& m) {
  ParamCounts c;
  const int64_t d = m.hidden_size, hd = m.head_dim;
  const int64_t attn = d * m.num_heads * hd + 2 * d * m.num_kv_heads * hd + m.num_heads * hd * d;
  const int64_t mlp = 3 * d * m.intermediate_size;
  const int64_t norms = 4 * d + 2 * hd;  // input/post-attn/pre-ffw/post-ffw + q_norm, k_norm
  c.embedding = m.vocab_size * d;
  c.per_layer = attn + mlp + norms;
  c.backbone = c.per_layer * m.num_layers + d;  // + final norm
  c.total = c.backbone + c.embedding;
  return c;
}

}  // namespace hld::config
