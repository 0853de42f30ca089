// The weight files of a Hugging Face model directory: one model.safetensors, or the shards that
// model.safetensors.index.json's weight_map names (model-0000K-of-0000N.safetensors). Reading maps
// every file and checks it (io::MappedSafetensors) and checks the map against the shards; writing
// splits at a maximum shard size the way transformers' save_pretrained does.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hld/io/safetensors.h"

namespace hld::hf {

class HfWeights {
 public:
  /// Opens DIR's weights: the index when DIR/model.safetensors.index.json exists, else
  /// DIR/model.safetensors. InputError naming the file on: neither present; an index that is not
  /// JSON or has no weight_map of tensor → file-name strings; a shard name that is not a plain
  /// file name; a missing or malformed shard; a tensor the map lists twice; a tensor that the map
  /// places in one shard but that is absent there, or present in another shard too; a tensor in a
  /// shard that the map does not list.
  explicit HfWeights(const std::string& dir);

  /// Every tensor name, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return where_.count(name) > 0; }
  /// The file holding `name` (which must exist).
  const io::MappedSafetensors& file_of(const std::string& name) const { return *files_.at(where_.at(name)); }
  const io::TensorEntry& entry(const std::string& name) const { return file_of(name).index().tensors.at(name); }
  size_t num_files() const { return files_.size(); }
  const std::string& dir() const { return dir_; }
  bool sharded() const { return sharded_; }
  /// Bytes of tensor data over all files.
  uint64_t data_bytes() const;

 private:
  std::vector<std::unique_ptr<io::MappedSafetensors>> files_;
  std::map<std::string, size_t> where_;  ///< tensor → index into files_
  std::string dir_;
  bool sharded_ = false;
};

/// "5GB", "500MB", "2GiB", "100KB", "123456" → bytes, as transformers reads max_shard_size
/// (KB/MB/GB powers of 1000, KiB/MiB/GiB powers of 1024; case-insensitive). InputError otherwise.
uint64_t parse_shard_size(const std::string& text);

/// Writes `tensors` (Hugging Face names) into DIR in `dtype` (floating-point tensors only):
/// model.safetensors when they fit in `max_shard_bytes`, else model-0000K-of-0000N.safetensors
/// (tensors in name order, a new shard whenever the next tensor would overflow the current one; a
/// tensor larger than the limit gets a shard of its own) plus model.safetensors.index.json.
/// Weight files of an earlier export that this one does not write are removed. Returns the names
/// of the files written.
std::vector<std::string> write_hf_weights(const std::string& dir, const io::TensorMap& tensors,
                                          uint64_t max_shard_bytes, torch::ScalarType dtype);

}  // namespace hld::hf
