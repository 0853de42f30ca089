// Safetensors files ⇄ named LibTorch tensors. Reading memory-maps the file and validates it with
// io::parse_safetensors() before touching any tensor data.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

namespace hld::io {

using TensorMap = std::map<std::string, torch::Tensor>;

struct SafetensorsFile {
  TensorMap tensors;  ///< owned CPU tensors
  std::map<std::string, std::string> metadata;
};

/// Loads every tensor (CPU, copied out of the mapping). Throws InputError on a malformed file.
SafetensorsFile load_safetensors(const std::string& path);

/// Writes tensors atomically (tmp + fsync + rename). Tensors are moved to CPU and made contiguous.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace hld::io
