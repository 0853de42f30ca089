// dlopen()s the SentencePiece shim with RTLD_DEEPBIND (see spm_lib.h for why); sanitizer builds
// load it into a link namespace of its own instead.
#include "hld/data/spm_lib.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "hld/util/version.h"

#if defined(__SANITIZE_ADDRESS__)
#define HLD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HLD_ASAN 1
#endif
#endif
#ifndef HLD_ASAN
#define HLD_ASAN 0
#endif

namespace hld::data::spm {
namespace {

std::vector<std::string> candidates() {
  std::vector<std::string> c;
  if (const char* env = std::getenv("HLD_SPM_SHIM")) c.emplace_back(env);
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) c.push_back((exe.parent_path() / "libhld_spm.so").string());
  c.emplace_back(util::spm_shim_path());
  return c;
}

Api load_api() {
  std::string tried;
  void* h = nullptr;
  for (const auto& path : candidates()) {
    if (!std::filesystem::exists(path)) {
      tried += "\n  " + path + " (absent)";
      continue;
    }
#if HLD_ASAN
    // AddressSanitizer refuses RTLD_DEEPBIND; a link namespace of its own isolates SentencePiece's
    // protobuf just as well (the shim is built without sanitizers for this: see CMakeLists.txt).
    h = ::dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
#else
    h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
#endif
    if (h) break;
    tried += "\n  " + path + " (" + ::dlerror() + ")";
  }
  if (!h) throw std::runtime_error("[tokenizer] cannot load the SentencePiece shim libhld_spm.so; tried:" + tried);
  auto sym = [&](const char* name) {
    void* s = ::dlsym(h, name);
    if (!s) throw std::runtime_error(std::string("[tokenizer] libhld_spm.so lacks ") + name);
    return s;
  };
  Api a;
  a.load = reinterpret_cast<decltype(a.load)>(sym("hld_spm_load"));
  a.free = reinterpret_cast<decltype(a.free)>(sym("hld_spm_free"));
  a.piece_size = reinterpret_cast<decltype(a.piece_size)>(sym("hld_spm_piece_size"));
  a.special_id = reinterpret_cast<decltype(a.special_id)>(sym("hld_spm_special_id"));
  a.encode = reinterpret_cast<decltype(a.encode)>(sym("hld_spm_encode"));
  a.decode = reinterpret_cast<decltype(a.decode)>(sym("hld_spm_decode"));
  a.id_to_piece = reinterpret_cast<decltype(a.id_to_piece)>(sym("hld_spm_id_to_piece"));
  a.score = reinterpret_cast<decltype(a.score)>(sym("hld_spm_score"));
  a.piece_type = reinterpret_cast<decltype(a.piece_type)>(sym("hld_spm_piece_type"));
  a.train = reinterpret_cast<decltype(a.train)>(sym("hld_spm_train"));
  return a;
}

}  // namespace

const Api& api() {
  static const Api a = load_api();
  return a;
}

}  // namespace hld::data::spm
