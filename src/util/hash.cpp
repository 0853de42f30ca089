// Checksums: XXH3-64 through libxxhash (one-shot and streaming), the legacy FNV-1a for data of
// older versions, digest text with its algorithm prefix, and block-wise file hashing.
#include "hld/util/hash.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <vector>

#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::util {
namespace {

constexpr std::string_view kXxh3Prefix = "xxh3:";
constexpr uint64_t kFnvBasis = 1469598103934665603ULL;  // util::fnv1a64's historic basis (see hash.h)
constexpr size_t kFileBlock = size_t{1} << 20;          // bytes per read() of file_checksum

bool parse_hex16(std::string_view s, uint64_t* out) {
  if (s.size() != 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

}  // namespace

const char* algo_name(HashAlgo a) { return a == HashAlgo::kXxh3 ? "xxh3" : "fnv1a64"; }

std::string Digest::str() const {
  return algo == HashAlgo::kXxh3 ? std::string(kXxh3Prefix) + hex64(value) : hex64(value);
}

bool parse_digest(std::string_view text, Digest* out) {
  Digest d;
  if (text.substr(0, kXxh3Prefix.size()) == kXxh3Prefix) {
    d.algo = HashAlgo::kXxh3;
    text.remove_prefix(kXxh3Prefix.size());
  } else {
    d.algo = HashAlgo::kFnv1a;
  }
  if (!parse_hex16(text, &d.value)) return false;
  *out = d;
  return true;
}

Digest parse_digest(std::string_view text, const std::string& what) {
  Digest d;
  HLD_INPUT_CHECK(parse_digest(text, &d), what +
                                              ": expected a checksum 'xxh3:' + 16 lowercase hex digits (or 16 "
                                              "hex digits of an older version), got '" +
                                              std::string(text) + "'");
  return d;
}

void Checksum::FreeState::operator()(XXH3_state_s* s) const { XXH3_freeState(s); }

Checksum::Checksum(HashAlgo algo) : algo_(algo) {
  if (algo_ == HashAlgo::kXxh3) {
    xxh_.reset(XXH3_createState());
    if (!xxh_) throw std::bad_alloc();
  }
  reset();
}

Checksum::~Checksum() = default;
Checksum::Checksum(Checksum&&) noexcept = default;
Checksum& Checksum::operator=(Checksum&&) noexcept = default;

void Checksum::reset() {
  fnv_ = kFnvBasis;
  if (xxh_) XXH3_64bits_reset(xxh_.get());
}

void Checksum::update(const void* data, size_t n) {
  if (n == 0) return;
  if (algo_ == HashAlgo::kXxh3)
    XXH3_64bits_update(xxh_.get(), data, n);
  else
    fnv_ = fnv1a64(data, n, fnv_);
}

uint64_t Checksum::value() const { return algo_ == HashAlgo::kXxh3 ? XXH3_64bits_digest(xxh_.get()) : fnv_; }

uint64_t xxh3_64(const void* data, size_t n) { return XXH3_64bits(data, n); }

Digest checksum(const void* data, size_t n, HashAlgo algo) {
  return {algo, algo == HashAlgo::kXxh3 ? xxh3_64(data, n) : fnv1a64(data, n, kFnvBasis)};
}

Digest file_checksum(const std::string& path, HashAlgo algo) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  HLD_INPUT_CHECK(fd >= 0, "cannot read file '" + path + "': " + std::strerror(errno));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Checksum sum(algo);
  std::vector<unsigned char> buf(kFileBlock);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      throw InputError("cannot read file '" + path + "': " + std::strerror(e));
    }
    if (n == 0) break;
    sum.update(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return sum.digest();
}

bool file_matches(const std::string& path, std::string_view stored) {
  Digest want;
  return parse_digest(stored, &want) && file_checksum(path, want.algo) == want;
}

bool data_matches(const void* data, size_t n, std::string_view stored) {
  Digest want;
  return parse_digest(stored, &want) && checksum(data, n, want.algo) == want;
}

}  // namespace hld::util
