// Token shards on disk: one directory per split (DIR/train, DIR/valid) holding
//   shard_00000.bin   little-endian uint16 (vocab <= 65536) or uint32 token ids, each document as
//                     `BOS text EOS` (Gemma's pre-training layout) or, written with --no-bos, `text EOS`
//   shard_00000.json  header: format, version, dtype, token and document counts, tokenizer hash,
//                     vocab size, the BOS layout (`bos`, `bos_id`), checksum of the .bin, source
//                     files, reader counters when it closed
//   index.json        the list of shards with their counts, the split's totals, input fingerprints and
//                     settings; written last, so a split without it is unfinished.
// ShardWriter writes a split atomically: the open shard grows in shard_NNNNN.bin.partial, which is
// fsynced and renamed when the shard closes; headers and the index are written atomically. Its
// state can be checkpointed and restored (a killed `prepare` resumes; see prepare.h). ShardSet
// memory-maps a split for reading and checks every header against the index and the file sizes
// (InputError naming the file on any mismatch). Splits written before the layout was recorded (no
// `bos` field) read as `text EOS`.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hld/util/hash.h"

namespace hld::data {

/// Shard format (the "version" of index.json and every shard header): 2 = checksums are XXH3-64
/// digests ("xxh3:…", util/hash.h); 1 = bare FNV-1a hex, written by older versions, still read.
constexpr int kShardFormatVersion = 2;

enum class TokenDtype { kUint16, kUint32 };

/// uint16 when every id fits (vocab <= 65536), else uint32.
TokenDtype dtype_for_vocab(int64_t vocab_size);
const char* dtype_name(TokenDtype t);
size_t dtype_bytes(TokenDtype t);

/// "shard_00042.bin" for 42 (the .json header has the same stem).
std::string shard_file_name(int64_t index, const char* ext);

class ShardWriter {
 public:
  /// `dir` is created if needed. `reader_stats` is called when a shard closes and its result stored
  /// in the shard header. Shards close after the first document that brings them to `shard_tokens`.
  /// `bos_id` >= 0: every document is written as BOS ids EOS (recorded as `bos: true` in the headers
  /// and the index); -1: ids EOS (`bos: false`).
  ShardWriter(std::string dir, std::string split, std::string tokenizer_hash, int64_t vocab_size, int32_t eos_id,
              int64_t shard_tokens, std::function<nlohmann::json()> reader_stats = {}, int32_t bos_id = -1);
  /// Removes the partial file of an unfinished shard, unless checkpoint() was ever called (then it
  /// is what a later restore() continues).
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  /// Appends BOS (when the writer has one), `ids_T` and then EOS. `source` is the file the document
  /// came from.
  void add_document(const std::vector<int32_t>& ids_T, const std::string& source);

  /// Closes the last shard, writes index.json (`extra` is merged into it: sources, settings, reader
  /// counters), deletes shard files of an earlier run that the new index does not list. Returns
  /// the index.
  nlohmann::json finish(const nlohmann::json& extra);

  /// Deletes every file this writer created or restored (used when the run fails on bad input).
  void abort();

  /// Makes the state durable and returns it: the finished shards (index entries) and the open
  /// shard (`null`, or its tokens, documents, bytes, running checksum and sources; its data is
  /// flushed and fsynced into shard_NNNNN.bin.partial first).
  nlohmann::json checkpoint();

  /// Continues from a checkpoint() of an identical writer (fresh object, nothing added yet). Every
  /// finished shard must be on disk with the recorded size, checksum, document count (EOS tokens)
  /// and header; the partial file (or, when the process died just after closing that shard, the
  /// shard_NNNNN.bin it was renamed to) is truncated to the recorded length and checked the same
  /// way. InputError on any mismatch: the state is untrusted input, and the caller starts over.
  void restore(const nlohmann::json& state);

  uint64_t tokens() const { return total_tokens_; }
  int64_t documents() const { return total_docs_; }
  int32_t bos_id() const { return bos_id_; }  ///< -1: documents are written without BOS
  /// Shards closed so far (restored ones included).
  int64_t num_shards() const { return static_cast<int64_t>(shards_.size()); }

 private:
  void open_shard();
  void close_shard();
  void flush();
  std::string partial_path() const;

  std::string dir_, split_, tokenizer_hash_;
  int64_t vocab_size_;
  int32_t eos_id_;
  int64_t shard_tokens_;
  int32_t bos_id_;  // -1: no BOS
  TokenDtype dtype_;
  std::function<nlohmann::json()> reader_stats_;

  int fd_ = -1;
  std::string tmp_path_;
  std::vector<unsigned char> buf_;
  uint64_t shard_tok_ = 0, unsynced_ = 0;  // unsynced_: bytes written since the last fsync
  util::Checksum checksum_;                // of the open shard's bytes written so far
  int64_t shard_docs_ = 0;
  std::vector<std::string> shard_sources_;
  nlohmann::json shards_ = nlohmann::json::array();
  std::vector<std::string> created_;
  uint64_t total_tokens_ = 0;
  int64_t total_docs_ = 0;
  bool finished_ = false, keep_partial_ = false;
};

/// A split directory opened for reading: every shard memory-mapped, headers validated.
class ShardSet {
 public:
  /// InputError naming the file when index.json or a shard is missing, unreadable, inconsistent
  /// with its header or the index, truncated, or from another tokenizer than
  /// `expected_tokenizer_hash` (when non-empty).
  explicit ShardSet(const std::string& dir, const std::string& expected_tokenizer_hash = "");
  ~ShardSet();
  ShardSet(const ShardSet&) = delete;
  ShardSet& operator=(const ShardSet&) = delete;

  /// Copies tokens [start, start + n) of the concatenated shard stream into out_N. InputError when
  /// the range is out of bounds or an id is outside the vocabulary (a corrupt shard).
  void read(uint64_t start, size_t n, int32_t* out_N) const;

  /// Recomputes every shard's checksum (reads all data, with the algorithm its digest names);
  /// InputError naming the first bad shard.
  void verify() const;

  const std::string& dir() const { return dir_; }
  uint64_t num_tokens() const { return num_tokens_; }
  int64_t num_documents() const { return num_documents_; }
  int64_t num_shards() const { return static_cast<int64_t>(shards_.size()); }
  int64_t vocab_size() const { return vocab_size_; }
  int32_t eos_id() const { return eos_id_; }
  /// True when every document starts with BOS (the index's `bos`; absent in older splits: false).
  bool bos() const { return bos_id_ >= 0; }
  int32_t bos_id() const { return bos_id_; }  ///< -1 when bos() is false
  TokenDtype dtype() const { return dtype_; }
  const std::string& tokenizer_hash() const { return tokenizer_hash_; }
  const nlohmann::json& index() const { return index_; }

 private:
  struct Mapped {
    std::string path;
    const unsigned char* data = nullptr;
    size_t bytes = 0;
    uint64_t tokens = 0, first = 0;  // first: offset of its first token in the split stream
    util::Digest checksum;
  };
  std::string dir_, tokenizer_hash_;
  nlohmann::json index_;
  std::vector<Mapped> shards_;
  uint64_t num_tokens_ = 0;
  int64_t num_documents_ = 0, vocab_size_ = 0;
  int32_t eos_id_ = 1;
  int32_t bos_id_ = -1;
  TokenDtype dtype_ = TokenDtype::kUint16;
};

/// The BOS layout fields of a shard header or index: {"bos": false} or {"bos": true, "bos_id": id}.
nlohmann::json bos_layout_json(int32_t bos_id);

}  // namespace hld::data
