// The on-disk layout of an offline teacher cache (SPEC §5), without LibTorch.
//
// A cache is a directory:
//   index.json        identity (teacher weights hash, tokenizer hash, data split, context, layer,
//                     k, vocabulary, width, encodings), the sequence selection, the planned chunk
//                     count and the finished chunks with their byte sizes and checksums. Rewritten
//                     atomically after every finished chunk; "complete" once all are there.
//   chunk_00000.bin   rows [c·chunk_rows, …) of the cache, each row one training sequence:
//       header        64 bytes: magic "HLDTCCH1", format version, cache id (hash of the index's
//                     identity), chunk index, first row, row count, context, record sizes
//       row table     32 bytes per row: sequence id, hash of its `context` input ids, checksum of
//                     its logits block, checksum of its hidden block
//       logits        rows × context × logits record   (teacher_cache_codec.h)
//       hidden        rows × context × hidden record
//   The index's chunk checksum covers header + row table, and the table's checksums cover the
//   data, so one small read validates a chunk and each row is checked when it is read.
// Format versions: 3 = version 2 plus: several teacher layers (index "layers", ascending; each
// token's hidden record is one hidden record per layer, in that order), the logits kind
// ("logits_kind": topk | sampled) and the per-token full-vocabulary log-sum-exp of the teacher's
// raw logits, log Σ_v exp(z_v / τ) at τ = "logz.temperature" (1: raw logits), stored as float32
// after the values of each logits record (4 bytes a token; checked finite when read). With logq8
// values (which keep z − z_max only) it is stored relative to them, log Σ_v exp((z_v − z_max)/τ),
// marked "logz.reference": "record_max" (else "raw"), so that decoded value/τ − logz is log p_T
// for either encoding. The top-k of a version-3 (and 2, 1) cache is stored by ascending index, so
// a cache written at k_max serves any k ≤ k_max: the reader keeps the k largest values (ties: the
// lower index). A "sampled" cache stores, per token, k ids drawn with replacement from
// softmax(z/τ) at τ = logz.temperature (a multiset layout: repeats side by side, a run's length
// is the id's draw count; teacher/sampled_logits.h), seeded by "sample_seed" and the sequence id.
// 2 = every checksum (and row tokens hash) is XXH3-64 (util/hash.h) and the
// teacher hash an "xxh3:" digest; 1 = the 4-lane FNV-style cache_checksum_v1 and a bare FNV-1a
// teacher hash, written by older versions: read (and trained from), never extended.
// Rows are the selected sequences. Selection "all": every sequence of the split, row = sequence
// id (serves every seed). Selection "prefix": the sequences at positions [0, positions) of the
// seeded training order (what a run with that seed reads first), in that order: a run reads its
// rows front to back, chunk after chunk, and a longer prefix only appends rows, so a cache can
// be extended keeping its full chunks (the row count is not part of the identity).
// Every parser here treats its input as hostile: InputError naming the file and field.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "hld/io/teacher_cache_codec.h"

namespace hld::io {

constexpr int kTeacherCacheVersion = 3;        ///< what this build writes
constexpr int kMaxCacheLayers = 256;           ///< teacher layers one cache may store
constexpr int kTeacherCacheOldestVersion = 1;  ///< the oldest it reads
constexpr size_t kChunkHeaderBytes = 64;
constexpr size_t kRowEntryBytes = 32;

struct ChunkHeader {
  uint64_t cache_id = 0;  ///< CacheIndex::cache_id() of the cache the chunk belongs to
  uint64_t chunk_index = 0;
  uint64_t first_row = 0;
  uint64_t num_rows = 0;
  uint32_t context = 0;
  uint32_t logits_record_bytes = 0;
  uint32_t hidden_record_bytes = 0;
  uint32_t version = kTeacherCacheVersion;  ///< format version (defines the checksums)
};

struct RowEntry {
  uint64_t seq_id = 0;
  uint64_t tokens_hash = 0;      ///< tokens_hash() of the row's input ids
  uint64_t logits_checksum = 0;  ///< cache_checksum() of the row's logits block
  uint64_t hidden_checksum = 0;  ///< cache_checksum() of the row's hidden block
};

/// Byte offsets of a chunk file's parts (per-row blocks are context × record bytes).
struct ChunkGeometry {
  uint64_t table_offset = 0, logits_offset = 0, hidden_offset = 0, file_bytes = 0;
  uint64_t row_logits_bytes = 0, row_hidden_bytes = 0;
  uint64_t logits_at(uint64_t r) const { return logits_offset + r * row_logits_bytes; }
  uint64_t hidden_at(uint64_t r) const { return hidden_offset + r * row_hidden_bytes; }
};
ChunkGeometry chunk_geometry(const ChunkHeader& h);

/// The checksum of cache format `version`: XXH3-64 since version 2, cache_checksum_v1 in 1.
/// (std::logic_error for another version: parsers reject those first.)
uint64_t cache_checksum(const void* data, size_t n, int version = kTeacherCacheVersion);

/// Header (with h.version) + row table bytes of a chunk (the part the index checksums).
std::string encode_chunk_prefix(const ChunkHeader& h, const std::vector<RowEntry>& rows);
/// InputError (naming `what`) on a short buffer, wrong magic, a version this build does not read
/// or impossible sizes.
ChunkHeader parse_chunk_header(const uint8_t* p, size_t n, const std::string& what);
std::vector<RowEntry> parse_row_table(const uint8_t* p, size_t n, uint64_t rows, const std::string& what);

/// "chunk_00042.bin".
std::string chunk_file_name(int64_t index);

/// Hash identifying a row's input: cache_checksum of the `context` token ids as little-endian int32.
uint64_t tokens_hash(const int32_t* ids_T, int64_t context, int version = kTeacherCacheVersion);

struct CacheChunkEntry {
  int64_t index = 0;
  std::string file;
  int64_t first_row = 0, rows = 0;
  uint64_t bytes = 0;
  uint64_t checksum = 0;  ///< cache_checksum() of header + row table
};

struct CacheSelection {
  std::string kind = "all";  ///< "all" | "prefix"
  uint64_t seed = 0;         ///< prefix: the data-order seed (run.seed of the runs it serves)
  int64_t positions = 0;     ///< prefix: how many positions of that order
};

struct CacheIndex {
  int version = kTeacherCacheVersion;  ///< format version it was written in (not identity)
  std::string teacher_checkpoint;      ///< path as configured when written (informative)
  std::string teacher_hash;            ///< hash of the teacher's weights file
  std::string teacher_name;
  int64_t teacher_layers = 0;
  std::string tokenizer_hash;  ///< from the shards
  std::string data_split;      ///< path as configured when written (informative)
  uint64_t data_tokens = 0;
  std::string data_checksum;   ///< hash of the split's shard checksums
  int64_t data_sequences = 0;  ///< sequences of `context` tokens in the split
  int64_t context = 0;
  int64_t layer = 0;                 ///< hidden state after this many teacher blocks (version 3: layers.front())
  std::vector<int64_t> layers;       ///< teacher layers stored, ascending (versions 1–2: {layer})
  std::string logits_kind = "topk";  ///< topk | sampled (version 3; older: topk)
  bool has_logz = false;             ///< logits records end with the float32 log-sum-exp (version 3)
  double logz_temperature = 1.0;     ///< τ of that log-sum-exp (log Σ exp(z/τ)); sampled: of the draws too
  bool logz_relative = false;        ///< stored relative to the record's z_max (logq8 values; "record_max")
  uint64_t sample_seed = 0;          ///< sampled: seed of the draws (identity)
  CacheLayout layout;                ///< vocabulary, k, width, encodings, record sizes
  CacheSelection selection;
  int64_t rows = 0;                     ///< sequences stored
  int64_t chunk_rows = 0;               ///< rows per chunk (the last one may have fewer)
  std::vector<CacheChunkEntry> chunks;  ///< finished chunks, ascending index
  std::string created_by;
  /// A teacher whose vocabulary extends the student's (teacher/shared_vocab.h): its embedding rows
  /// (0: layout.vocab_size, the usual case) and its probability on the ids beyond layout.vocab_size,
  /// summed over the tokens of the finished chunks ("extra_vocab_mass"; informative, not identity).
  int64_t teacher_vocab_size = 0;
  double extra_mass_sum = 0, extra_mass_max = 0;
  int64_t extra_mass_tokens = 0;

  /// Bytes of one token's logits record (layout's, + 4 with the log-sum-exp) and hidden record
  /// (layout's × number of layers): the chunk header's record sizes.
  int64_t logits_record_bytes() const { return layout.logits_bytes() + (has_logz ? 4 : 0); }
  int64_t hidden_record_bytes() const {
    return layout.hidden_bytes * static_cast<int64_t>(layers.empty() ? 1 : layers.size());
  }
  /// Position of teacher layer `m` in `layers`, or -1 when the cache lacks it.
  int64_t layer_slot(int64_t m) const;
  int64_t num_chunks() const { return chunk_rows > 0 ? (rows + chunk_rows - 1) / chunk_rows : 0; }
  int64_t chunk_first_row(int64_t c) const { return c * chunk_rows; }
  int64_t chunk_num_rows(int64_t c) const;
  bool complete() const { return static_cast<int64_t>(chunks.size()) == num_chunks(); }
  /// Hash of every identity field (not the row count, not progress, not informative paths).
  uint64_t cache_id() const;
  /// Total bytes of all chunk files once complete.
  uint64_t total_bytes() const;
};

nlohmann::json to_json(const CacheIndex& ix);
/// The identity fields (what cache_id() hashes) that differ between two indexes, each as
/// "field: A vs B"; empty when they describe the same cache.
std::vector<std::string> identity_differences(const CacheIndex& a, const CacheIndex& b);
/// Strict parse of index.json text (versions kTeacherCacheOldestVersion..kTeacherCacheVersion);
/// InputError naming `what` and the bad field.
CacheIndex parse_cache_index(const std::string& text, const std::string& what);

}  // namespace hld::io
