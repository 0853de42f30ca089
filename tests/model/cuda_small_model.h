// The small model the CUDA tests compare against the CPU model: GQA, sliding and global layers,
// sizes that keep a CPU reference forward and backward fast.
#pragma once

#include "hld/config/model_config.h"

namespace hld::test {

inline config::ModelConfig cuda_small_model() {
  config::ModelConfig c;
  c.vocab_size = 300;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_layers = 3;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 32;
  c.query_pre_attn_scalar = 32;
  c.sliding_window = 8;
  c.sliding_window_pattern = 3;  // layers 0, 1 sliding, 2 global
  return c;
}

}  // namespace hld::test
