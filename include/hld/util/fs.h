// Filesystem helpers: atomic writes (temporary name + fsync + rename), whole-file reads, FNV-1a of
// small identity strings. Checksums of data and files are in hash.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hld::util {

/// Reads a whole file; throws InputError naming the path when it cannot be read.
std::string read_file(const std::string& path);

/// A file written in pieces and published atomically: bytes go to `path.tmp.<pid>`; commit()
/// fsyncs and renames it over `path`. Destroyed uncommitted (an exception on the way), the
/// temporary is removed and `path` is left as it was. For files too large to build in memory.
/// Errors: std::runtime_error with the path and errno text (a full disk included).
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

/// Writes `data` to `path` atomically (an AtomicFile written at once).
void write_file_atomic(const std::string& path, std::string_view data);

/// fsyncs a directory so that a rename inside it is durable.
void fsync_dir(const std::string& dir);

/// Free bytes for an unprivileged writer on the filesystem of `path` (or of its nearest existing
/// parent directory), from statvfs.
uint64_t free_disk_bytes(const std::string& path);

/// "1.23 GiB"-style byte counts for messages.
std::string human_bytes(double bytes);

/// 64-bit FNV-1a, byte at a time: for short identity strings that existing headers record
/// (tokenizer hash, config fingerprint, cache id). Never for file-sized data: see hash.h.
uint64_t fnv1a64(const void* data, size_t n, uint64_t seed = 1469598103934665603ULL);
uint64_t fnv1a64(std::string_view s);

/// Hex string of a 64-bit hash (16 lowercase digits).
std::string hex64(uint64_t h);

}  // namespace hld::util
