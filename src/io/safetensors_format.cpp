// Safetensors header parsing (bounds-checked) and building.
#include "hld/io/safetensors_format.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

#include "hld/util/error.h"

namespace hld::io {
namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // 100 MiB, as the reference implementation

struct DTypeInfo {
  DType d;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4}, {DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2}, {DType::kF64, "F64", 8},
    {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4}, {DType::kI16, "I16", 2},   {DType::kI8, "I8", 1},
    {DType::kU8, "U8", 1},   {DType::kU16, "U16", 2}, {DType::kU32, "U32", 4},   {DType::kBool, "BOOL", 1},
};

// A header value for an error message: scalars as written (cut at 80 characters), arrays and
// objects by type only: dumping a hostile, deeply nested value recurses once per level.
std::string describe(const nlohmann::json& v) {
  if (v.is_structured()) return std::string("(a JSON ") + v.type_name() + ")";
  std::string s = v.dump();
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

}  // namespace

size_t dtype_size(DType d) {
  for (const auto& i : kDTypes)
    if (i.d == d) return i.size;
  return 0;
}

const char* dtype_name(DType d) {
  for (const auto& i : kDTypes)
    if (i.d == d) return i.name;
  return "?";
}

bool parse_dtype(const std::string& s, DType& out) {
  for (const auto& i : kDTypes)
    if (s == i.name) {
      out = i.d;
      return true;
    }
  return false;
}

uint64_t TensorEntry::numel() const {
  uint64_t n = 1;
  for (auto s : shape) n *= static_cast<uint64_t>(s);
  return n;
}

SafetensorsIndex parse_safetensors(const uint8_t* data, uint64_t size, const std::string& what) {
  auto fail = [&](const std::string& msg) { throw InputError(what + ": malformed safetensors: " + msg); };
  if (size < 8) fail("file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n > kMaxHeader) fail("header length " + std::to_string(n) + " exceeds the 100 MiB limit");
  if (n > size - 8) fail("header length " + std::to_string(n) + " runs past the end of the file");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(reinterpret_cast<const char*>(data + 8), reinterpret_cast<const char*>(data + 8 + n));
  } catch (const std::exception& e) {
    fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail("header is not a JSON object");
  SafetensorsIndex idx;
  idx.data_start = 8 + n;
  const uint64_t data_size = size - idx.data_start;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail("__metadata__." + m.key() + " is not a string");
        idx.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      fail("tensor '" + name + "' lacks dtype, shape or data_offsets");
    TensorEntry e;
    if (!v["dtype"].is_string() || !parse_dtype(v["dtype"].get<std::string>(), e.dtype))
      fail("tensor '" + name + "' has an unknown dtype " + describe(v["dtype"]));
    if (!v["shape"].is_array()) fail("tensor '" + name + "' shape is not a list");
    unsigned __int128 numel = 1;
    for (const auto& s : v["shape"]) {
      if (!s.is_number_integer() || s.get<int64_t>() < 0)
        fail("tensor '" + name + "' has a negative or non-integer dimension " + describe(s));
      e.shape.push_back(s.get<int64_t>());
      numel *= static_cast<uint64_t>(e.shape.back());
      if (numel > (static_cast<unsigned __int128>(1) << 62)) fail("tensor '" + name + "' shape is absurdly large");
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail("tensor '" + name + "' data_offsets is not a pair of non-negative integers");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.end < e.begin) fail("tensor '" + name + "' ends before it begins");
    if (e.end > data_size)
      fail("tensor '" + name + "' data [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
           ") runs past the data section (" + std::to_string(data_size) + " bytes)");
    const unsigned __int128 bytes = numel * dtype_size(e.dtype);
    if (bytes != e.end - e.begin)
      fail("tensor '" + name + "' holds " + std::to_string(e.end - e.begin) + " bytes but its dtype and shape need " +
           std::to_string(static_cast<uint64_t>(bytes)));
    idx.tensors.emplace(name, std::move(e));
  }
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (const auto& [name, e] : idx.tensors)
    if (e.end > e.begin) spans.emplace_back(e.begin, e.end);
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second) fail("tensors overlap in the data section");
  return idx;
}

std::string build_safetensors_header(std::map<std::string, TensorEntry>& tensors,
                                     const std::map<std::string, std::string>& metadata) {
  nlohmann::json j = nlohmann::json::object();
  if (!metadata.empty()) j["__metadata__"] = metadata;
  uint64_t off = 0;
  for (auto& [name, e] : tensors) {
    e.begin = off;
    e.end = off + e.numel() * dtype_size(e.dtype);
    off = e.end;
    j[name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {e.begin, e.end}}};
  }
  std::string js = j.dump();
  while ((js.size() + 8) % 8 != 0) js.push_back(' ');
  std::string out(8, '\0');
  uint64_t n = js.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + js;
}

}  // namespace hld::io
