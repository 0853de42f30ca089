// The safetensors container, without LibTorch: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}}, then the data. parse_safetensors() treats the
// bytes as hostile: every length, offset, shape and dtype is checked before anything is read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hld::io {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kU16, kU32, kBool };

struct TensorEntry {
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  ///< byte offsets relative to the start of the data section
  uint64_t numel() const;
};

struct SafetensorsIndex {
  std::map<std::string, TensorEntry> tensors;
  std::map<std::string, std::string> metadata;  ///< "__metadata__" string pairs
  uint64_t data_start = 0;                      ///< absolute offset of the data section
};

size_t dtype_size(DType d);
const char* dtype_name(DType d);  ///< safetensors spelling ("F32", "BF16", ...)
/// Parses a safetensors dtype name; returns false when unknown.
bool parse_dtype(const std::string& s, DType& out);

/// Validates and indexes a safetensors file held in memory (`what` names it in errors).
/// Throws hld::InputError on any malformation: short file, header length beyond the file,
/// invalid JSON, unknown dtype, negative or overflowing shape, size/offset mismatch, offsets
/// outside the data section, overlapping tensors.
SafetensorsIndex parse_safetensors(const uint8_t* data, uint64_t size, const std::string& what);

/// Serialises a header for tensors laid out contiguously in map order; returns the header bytes
/// (length prefix + JSON, padded to 8 bytes) and fills each entry's begin/end.
std::string build_safetensors_header(std::map<std::string, TensorEntry>& tensors,
                                     const std::map<std::string, std::string>& metadata);

}  // namespace hld::io
