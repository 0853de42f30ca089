// Reading an offline teacher cache (io/teacher_cache_format.h): rows by sequence id, each
// chunk validated against index.json when first opened (size, header, row-table checksum) and
// each row's data block against its checksum when read. Every inconsistency is an InputError
// naming the file: a corrupt, truncated or foreign chunk is bad input, not a crash.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <vector>

#include "hld/data/batch_stream.h"
#include "hld/io/teacher_cache_format.h"

namespace hld::teacher {

class CacheReader {
 public:
  /// Reads DIR/index.json. InputError when it is missing or malformed.
  explicit CacheReader(std::string dir);
  ~CacheReader();
  CacheReader(const CacheReader&) = delete;
  CacheReader& operator=(const CacheReader&) = delete;

  const io::CacheIndex& index() const { return ix_; }
  const std::string& dir() const { return dir_; }

  /// Fixes the row ↔ sequence mapping from the cache's selection over `order` (a stream over the
  /// split the cache was written from; its seed does not matter). Required before reads.
  void attach(const data::BatchStream& order);
  /// Row holding sequence `seq_id`, or -1.
  int64_t row_of(int64_t seq_id) const;
  int64_t seq_of(int64_t row) const { return rows_.at(static_cast<size_t>(row)); }

  /// The validated row-table entry of `row` (opens and checks its chunk when needed).
  const io::RowEntry& entry(int64_t row);

  /// Raw data blocks of `row` (context × record bytes each); pass nullptr for a block that is
  /// not needed. Checksums are verified unless `verify` is false (then call check_raw).
  void read_raw(int64_t row, std::string* logits, std::string* hidden, bool verify = true);
  /// Verifies blocks read by read_raw against `e` (the row's entry()); thread-safe.
  void check_raw(int64_t row, const io::RowEntry& e, const std::string* logits, const std::string* hidden) const;

  /// Decodes a logits block into vals (context × k_max) and idx (context × k_max), ids ascending,
  /// and, when the cache stores it and `logz_T` is given, the log-sum-exp per token; a hidden
  /// block into h (context × layers × d, the index's `layers` order). InputError naming the row
  /// on a malformed record or a block of the wrong size.
  void decode_logits_block(int64_t row, const std::string& raw, float* vals_TxK, int64_t* idx_TxK,
                           float* logz_T = nullptr) const;
  void decode_hidden_block(int64_t row, const std::string& raw, float* h_TxLxD) const;

  /// Re-reads chunk `c` completely: size, header, table checksum, every row's checksums and
  /// records. InputError on the first problem.
  void verify_chunk(int64_t c);

  /// Path of chunk `c`.
  std::string chunk_path(int64_t c) const;

 private:
  struct OpenChunk {
    int fd = -1;
    io::ChunkGeometry geo;
    std::vector<io::RowEntry> table;
  };
  OpenChunk& open_chunk(int64_t c);
  void pread_exact(const OpenChunk& ch, int64_t c, uint64_t offset, std::string& out, uint64_t n) const;

  std::string dir_;
  io::CacheIndex ix_;
  std::vector<const io::CacheChunkEntry*> finished_;  // by chunk index; nullptr when not written
  std::vector<int64_t> rows_;                         // sequence id of each row
  std::vector<std::pair<int64_t, int64_t>> by_seq_;   // prefix: (sequence id, row), ascending
  bool attached_ = false;
  static constexpr size_t kMaxOpen = 16;
  std::map<int64_t, OpenChunk> open_;
  std::list<int64_t> lru_;  // most recent first
};

}  // namespace hld::teacher
