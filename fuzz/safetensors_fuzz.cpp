// libFuzzer target: feeds each input, as the whole contents of a .safetensors file, to
// hld::io::parse_safetensors (src/io/safetensors_format.cpp), the bounds-checked parser behind
// import-hf, verify-hf and checkpoint loading. Accepted files must index only bytes inside the
// input, and their index must survive a rebuild with build_safetensors_header + parse again.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "hld/io/safetensors_format.h"

using namespace hld;

namespace {

void check_accepted(const io::SafetensorsIndex& idx, uint64_t size) {
  if (idx.data_start < 8 || idx.data_start > size) fuzz::finding("data section starts outside the file");
  uint64_t total = 0;
  for (const auto& [name, e] : idx.tensors) {
    if (e.begin > e.end || e.end > size - idx.data_start) fuzz::finding("tensor '" + name + "' outside the data");
    if (e.end - e.begin != e.numel() * io::dtype_size(e.dtype)) fuzz::finding("tensor '" + name + "' size mismatch");
    total += e.end - e.begin;
  }
  if (total > size) fuzz::finding("tensors cover more bytes than the file holds");
  // Rebuild the header for the same tensors laid out contiguously; it must parse back the same.
  auto tensors = idx.tensors;
  std::string file = io::build_safetensors_header(tensors, idx.metadata);
  file.resize(file.size() + total, '\0');
  const auto again = io::parse_safetensors(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "rebuilt");
  if (again.tensors.size() != idx.tensors.size() || again.metadata != idx.metadata)
    fuzz::finding("rebuilt header differs");
  for (const auto& [name, e] : again.tensors) {
    const auto& o = idx.tensors.at(name);
    if (e.dtype != o.dtype || e.shape != o.shape) fuzz::finding("rebuilt tensor '" + name + "' differs");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::expect_only_input_errors([&] {
    const io::SafetensorsIndex idx = io::parse_safetensors(data, size, "fuzz.safetensors");
    try {
      check_accepted(idx, size);
    } catch (const InputError& e) {
      fuzz::finding(std::string("a rebuilt header of an accepted file was rejected: ") + e.what());
    }
  });
  return 0;
}
