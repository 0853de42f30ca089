// Safetensors ⇄ torch::Tensor.
#include "hld/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "hld/io/safetensors_format.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::io {
namespace {

torch::ScalarType to_torch(io::DType d) {
  switch (d) {
    case io::DType::kF32:
      return torch::kFloat32;
    case io::DType::kF16:
      return torch::kFloat16;
    case io::DType::kBF16:
      return torch::kBFloat16;
    case io::DType::kF64:
      return torch::kFloat64;
    case io::DType::kI64:
      return torch::kInt64;
    case io::DType::kI32:
      return torch::kInt32;
    case io::DType::kI16:
      return torch::kInt16;
    case io::DType::kI8:
      return torch::kInt8;
    case io::DType::kU8:
      return torch::kUInt8;
    case io::DType::kBool:
      return torch::kBool;
    case io::DType::kU16:
    case io::DType::kU32:
      break;
  }
  throw InputError(std::string("safetensors dtype ") + io::dtype_name(d) + " has no LibTorch equivalent here");
}

io::DType from_torch(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32:
      return io::DType::kF32;
    case torch::kFloat16:
      return io::DType::kF16;
    case torch::kBFloat16:
      return io::DType::kBF16;
    case torch::kFloat64:
      return io::DType::kF64;
    case torch::kInt64:
      return io::DType::kI64;
    case torch::kInt32:
      return io::DType::kI32;
    case torch::kInt16:
      return io::DType::kI16;
    case torch::kInt8:
      return io::DType::kI8;
    case torch::kUInt8:
      return io::DType::kU8;
    case torch::kBool:
      return io::DType::kBool;
    default:
      break;
  }
  throw std::runtime_error(std::string("save_safetensors: unsupported dtype ") + c10::toString(t));
}

struct Mapping {
  void* ptr = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (ptr != MAP_FAILED && size) munmap(ptr, size);
  }
};

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  HLD_INPUT_CHECK(fd >= 0, "cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError("'" + path + "' is not a regular file");
  }
  Mapping map;
  map.size = static_cast<size_t>(st.st_size);
  static const uint8_t kEmpty[1] = {0};
  const uint8_t* base = kEmpty;
  if (map.size > 0) {
    map.ptr = ::mmap(nullptr, map.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map.ptr == MAP_FAILED) {
      ::close(fd);
      throw InputError("cannot map '" + path + "': " + std::strerror(errno));
    }
    base = static_cast<const uint8_t*>(map.ptr);
  }
  ::close(fd);
  io::SafetensorsIndex idx = io::parse_safetensors(base, map.size, path);
  SafetensorsFile out;
  out.metadata = idx.metadata;
  for (const auto& [name, e] : idx.tensors) {
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(to_torch(e.dtype)));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), base + idx.data_start + e.begin, e.end - e.begin);
    out.tensors.emplace(name, t);
  }
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::map<std::string, io::TensorEntry> entries;
  for (const auto& [name, t] : tensors) {
    io::TensorEntry e;
    e.dtype = from_torch(t.scalar_type());
    e.shape = t.sizes().vec();
    entries.emplace(name, e);
  }
  const std::string header = io::build_safetensors_header(entries, metadata);
  // Streamed tensor by tensor in offset order: the extra memory is one tensor's host copy (none
  // for contiguous CPU tensors), never the whole file.
  std::vector<std::pair<size_t, std::string>> order;
  for (const auto& [name, e] : entries) order.emplace_back(e.begin, name);
  std::sort(order.begin(), order.end());
  util::AtomicFile f(path);
  f.write(header);
  size_t at = 0;
  const std::string zeros(64, '\0');
  for (const auto& [begin, name] : order) {
    const auto& e = entries.at(name);
    for (; at < e.begin; at += std::min(zeros.size(), e.begin - at))
      f.write(zeros.data(), std::min(zeros.size(), e.begin - at));
    if (e.end == e.begin) continue;
    const auto c = tensors.at(name).detach().to(torch::kCPU).contiguous();
    f.write(c.data_ptr(), e.end - e.begin);
    at = e.end;
  }
  f.commit();
}

}  // namespace hld::io
