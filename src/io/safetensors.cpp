// Safetensors ⇄ torch::Tensor: a validated read-only mapping handing out one tensor at a time, and
// a writer that streams tensor by tensor through util::AtomicFile.
#include "hld/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

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

}  // namespace

MappedSafetensors::MappedSafetensors(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  HLD_INPUT_CHECK(fd >= 0, "cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError("'" + path + "' is not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  static const uint8_t kEmpty[1] = {0};
  const uint8_t* base = kEmpty;
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      throw InputError("cannot map '" + path + "': " + std::strerror(e));
    }
    map_ = p;
    base = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  try {
    index_ = parse_safetensors(base, size_, path);
  } catch (...) {
    if (map_) ::munmap(map_, size_);
    throw;
  }
}

MappedSafetensors::~MappedSafetensors() {
  if (map_) ::munmap(map_, size_);
}

torch::Tensor MappedSafetensors::view(const std::string& name) const {
  auto it = index_.tensors.find(name);
  HLD_INPUT_CHECK(it != index_.tensors.end(), path_ + ": no tensor '" + name + "'");
  const TensorEntry& e = it->second;
  const auto opts = torch::TensorOptions().dtype(to_torch(e.dtype));
  if (e.end == e.begin) return torch::empty(e.shape, opts);
  // parse_safetensors() checked that [begin, end) lies inside the data section of the mapping.
  auto* data = static_cast<uint8_t*>(map_) + index_.data_start + e.begin;
  return torch::from_blob(data, e.shape, opts);
}

void MappedSafetensors::release(const std::string& name) const {
  auto it = index_.tensors.find(name);
  if (it == index_.tensors.end() || !map_) return;
  const long page = ::sysconf(_SC_PAGESIZE);
  const uint64_t lo = index_.data_start + it->second.begin, hi = index_.data_start + it->second.end;
  const uint64_t first = (lo + page - 1) / page * page, last = hi / page * page;  // whole pages only
  if (last > first) ::madvise(static_cast<uint8_t*>(map_) + first, last - first, MADV_DONTNEED);
}

SafetensorsFile load_safetensors(const std::string& path) {
  MappedSafetensors f(path);
  SafetensorsFile out;
  out.metadata = f.index().metadata;
  for (const auto& [name, e] : f.index().tensors) out.tensors.emplace(name, f.copy(name));
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata, std::optional<torch::ScalarType> dtype) {
  auto stored = [&](const torch::Tensor& t) { return dtype && t.is_floating_point() ? *dtype : t.scalar_type(); };
  std::map<std::string, TensorEntry> entries;
  for (const auto& [name, t] : tensors) {
    TensorEntry e;
    e.dtype = from_torch(stored(t));
    e.shape = t.sizes().vec();
    entries.emplace(name, e);
  }
  // build_safetensors_header() lays the tensors out contiguously in name order: streamed in that
  // order, the extra memory is one tensor's host copy (none for contiguous CPU tensors of the
  // stored dtype), never the whole file.
  const std::string header = build_safetensors_header(entries, metadata);
  util::AtomicFile f(path);
  f.write(header);
  for (const auto& [name, e] : entries) {
    if (e.end == e.begin) continue;
    const auto& t = tensors.at(name);
    const auto c = t.detach().to(torch::kCPU, stored(t)).contiguous();
    f.write(c.data_ptr(), e.end - e.begin);
  }
  f.commit();
}

}  // namespace hld::io
