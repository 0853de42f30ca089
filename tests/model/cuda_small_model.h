// The small model the CUDA tests compare against the CPU model: GQA, sliding and global layers,
// sizes that keep a CPU reference forward and backward fast; and HLD_NEED_CUDA, the CUDA tests'
// guard.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "hld/config/model_config.h"

/// Skips a CUDA test on a machine without a CUDA device; with HLD_REQUIRE_CUDA=1 (the GPU
/// machine's device check, scripts/gpu/device_check.sh) that is a failure instead.
#define HLD_NEED_CUDA()                                                                  \
  if (!torch::cuda::is_available()) {                                                    \
    if (::hld::test::cuda_required()) FAIL() << "HLD_REQUIRE_CUDA=1 but no CUDA device"; \
    GTEST_SKIP() << "no CUDA device";                                                    \
  }

namespace hld::test {

inline bool cuda_required() {
  const char* v = std::getenv("HLD_REQUIRE_CUDA");
  return v && std::string(v) == "1";
}

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
