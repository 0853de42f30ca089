// What a teacher cache for a run must be: its identity (teacher weights, tokenizer, data split,
// context, layer, k) and which sequences it holds. Shared by `cache-teacher`, which writes
// exactly this, and the training-side cache source, which compares a cache's header with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hld/config/experiment.h"
#include "hld/data/batch_stream.h"
#include "hld/io/teacher_cache_format.h"
#include "hld/util/hash.h"

namespace hld::teacher {

/// Hash of a teacher's weights: util::file_checksum of model.safetensors in the directory that
/// `checkpoint` resolves to (an hld-train model/checkpoint/run dir or a Hugging Face dir), as
/// digest text. Streams the file (a 13 GB teacher costs 1 MiB of memory); `algo` kFnv1a
/// reproduces the hash that caches of format version 1 record.
std::string teacher_weights_hash(const std::string& checkpoint, util::HashAlgo algo = util::HashAlgo::kXxh3);

/// Identity of a token split: hash of its shards' checksums (index.json), hex.
std::string split_checksum(const data::ShardSet& shards);

/// How many positions of the seeded training order a run of `cfg` reads: total optimizer steps
/// of its budget plan × global batch (batch_size × world).
int64_t run_positions(const config::ExperimentConfig& cfg, const config::ModelConfig& teacher, int world);

/// The most positions any teacher objective (kd, hldc, hldf) reads under cfg's budget: one cache
/// serves all three, and HLDF's cheaper hint phase reads more tokens for the same FLOPs.
int64_t teacher_objectives_positions(const config::ExperimentConfig& cfg, const config::ModelConfig& teacher,
                                     int world);

/// The sequence ids a selection holds, in row order: ascending for "all", the seeded visiting
/// order for "prefix".
std::vector<int64_t> selection_rows(const io::CacheSelection& sel, const data::BatchStream& order);

/// The selection for `positions` of the order seeded `seed`: "all" when that reaches the whole
/// split (then valid for every seed), else "prefix".
io::CacheSelection make_selection(int64_t positions, uint64_t seed, int64_t num_sequences);

struct CachePlanOptions {
  int64_t sequences = 0;                   ///< positions to cache (0: teacher.cache_tokens, else what the budget
                                           ///< makes any teacher objective read)
  int64_t chunk_rows = 256;                ///< sequences per chunk file
  int world = 1;                           ///< data-parallel ranks of the runs the cache serves
  int version = io::kTeacherCacheVersion;  ///< format to write: 3, or 2 (one layer, no log-sum-exp; tests)
};

/// The index (identity and chunk plan, no finished chunks) of the cache `cfg` asks for; reads
/// the teacher's shape and weights hash and the train split's header. InputError on bad config.
io::CacheIndex plan_cache(const config::ExperimentConfig& cfg, const CachePlanOptions& opts);

}  // namespace hld::teacher
