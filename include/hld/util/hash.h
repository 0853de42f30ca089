// Checksums of data and files. Everything written now uses XXH3-64 (Debian's libxxhash); the
// byte-at-a-time FNV-1a 64 is kept only to verify what older versions wrote. A digest's text
// names its algorithm: "xxh3:0123456789abcdef"; 16 bare hex digits are a legacy FNV-1a digest
// (the form every file written before the prefix existed holds).
// Files are hashed in fixed 1 MiB blocks, so a file of any size costs ~1 MiB of memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct XXH3_state_s;  // libxxhash's streaming state (xxhash.h stays out of this header)

namespace hld::util {

enum class HashAlgo {
  kXxh3,   ///< XXH3-64, seed 0: what every new checksum is
  kFnv1a,  ///< legacy data only: FNV-1a 64 as hld-train always computed it, from the offset
           ///< basis 1469598103934665603 (0x14650fb0739d0383: the textbook basis, 14695981039346656037,
           ///< missing its last digit; kept so that what older versions wrote still verifies)
};

/// "xxh3" or "fnv1a64" (for messages).
const char* algo_name(HashAlgo a);

/// A parsed digest: its algorithm and 64-bit value.
struct Digest {
  HashAlgo algo = HashAlgo::kXxh3;
  uint64_t value = 0;
  /// Textual form: "xxh3:<16 hex>", or <16 hex> for kFnv1a.
  std::string str() const;
  bool operator==(const Digest& o) const { return algo == o.algo && value == o.value; }
  bool operator!=(const Digest& o) const { return !(*this == o); }
};

/// Parses the textual form; false (and `out` untouched) unless it is "xxh3:" or nothing followed
/// by exactly 16 lowercase hex digits.
bool parse_digest(std::string_view text, Digest* out);
/// As above, InputError naming `what` when malformed.
Digest parse_digest(std::string_view text, const std::string& what);

/// Streaming checksum: feed the bytes with update() in pieces of any size; value() and digest()
/// may be asked at any point (they do not end the stream) and equal the one-shot result over all
/// bytes fed so far.
class Checksum {
 public:
  explicit Checksum(HashAlgo algo = HashAlgo::kXxh3);
  ~Checksum();
  Checksum(Checksum&&) noexcept;
  Checksum& operator=(Checksum&&) noexcept;
  Checksum(const Checksum&) = delete;
  Checksum& operator=(const Checksum&) = delete;

  void update(const void* data, size_t n);
  /// Back to the checksum of no bytes.
  void reset();
  uint64_t value() const;
  Digest digest() const { return {algo_, value()}; }
  HashAlgo algo() const { return algo_; }

 private:
  struct FreeState {
    void operator()(XXH3_state_s* s) const;
  };
  HashAlgo algo_;
  uint64_t fnv_ = 0;
  std::unique_ptr<XXH3_state_s, FreeState> xxh_;
};

/// One-shot XXH3-64 (seed 0) of a byte range.
uint64_t xxh3_64(const void* data, size_t n);

/// One-shot digest of a byte range.
Digest checksum(const void* data, size_t n, HashAlgo algo = HashAlgo::kXxh3);

/// Digest of a file's contents, read in 1 MiB blocks; InputError naming the path when it cannot
/// be opened or read.
Digest file_checksum(const std::string& path, HashAlgo algo = HashAlgo::kXxh3);

/// Whether a file's contents (or a byte range) have the digest `stored`, computed with the
/// algorithm `stored` names (so digests written by older versions still verify). A malformed
/// `stored` never matches. InputError when the file cannot be read.
bool file_matches(const std::string& path, std::string_view stored);
bool data_matches(const void* data, size_t n, std::string_view stored);

}  // namespace hld::util
