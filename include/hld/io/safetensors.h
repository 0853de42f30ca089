// Safetensors files ⇄ named LibTorch tensors. Reading memory-maps the file and validates it with
// io::parse_safetensors() before touching any tensor data; MappedSafetensors hands out one tensor
// at a time (what importing a multi-gigabyte checkpoint needs). Writing streams tensor by tensor.
#pragma once

#include <torch/torch.h>

#include <map>
#include <optional>
#include <string>

#include "hld/io/safetensors_format.h"

namespace hld::io {

using TensorMap = std::map<std::string, torch::Tensor>;

struct SafetensorsFile {
  TensorMap tensors;  ///< owned CPU tensors
  std::map<std::string, std::string> metadata;
};

/// One safetensors file, memory-mapped read-only and validated (InputError naming the path on any
/// malformation). Tensors are read one at a time; nothing is copied until asked for.
class MappedSafetensors {
 public:
  explicit MappedSafetensors(const std::string& path);
  ~MappedSafetensors();
  MappedSafetensors(const MappedSafetensors&) = delete;
  MappedSafetensors& operator=(const MappedSafetensors&) = delete;

  const std::string& path() const { return path_; }
  const SafetensorsIndex& index() const { return index_; }
  bool contains(const std::string& name) const { return index_.tensors.count(name) > 0; }
  /// A CPU tensor over the mapped bytes of `name` (no copy; read-only memory: never write to it),
  /// valid while this object lives. InputError when the dtype has no LibTorch equivalent.
  torch::Tensor view(const std::string& name) const;
  /// An owned copy of `name`.
  torch::Tensor copy(const std::string& name) const { return view(name).clone(); }
  /// Drops the pages of `name` from this process (they stay in the page cache): a copied tensor
  /// then no longer counts twice in the resident set.
  void release(const std::string& name) const;

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  SafetensorsIndex index_;
};

/// Loads every tensor (CPU, copied out of the mapping). Throws InputError on a malformed file.
SafetensorsFile load_safetensors(const std::string& path);

/// Writes tensors atomically (tmp + fsync + rename), streaming one tensor at a time: each is moved
/// to CPU, made contiguous and, when `dtype` is given, converted just before it is written, so
/// the extra memory is one tensor, not the file. std::runtime_error naming the path on a write
/// failure (a full disk included); an existing file at `path` stays intact then.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      std::optional<torch::ScalarType> dtype = std::nullopt);

}  // namespace hld::io
