// Packed training batches from a split's token shards. Sequence i (unshuffled) is the context+1
// tokens [i*context, i*context + context + 1) of the concatenated shard stream (documents are
// separated by EOS), so consecutive sequences overlap by one token and num_sequences =
// floor((tokens - 1) / context). Each epoch visits every sequence once in a seeded pseudo-random
// order (Permutation keyed by seed + epoch). Global step s takes the shuffled sequences
// [s*batch*world, (s+1)*batch*world) of the endless epoch-after-epoch order; rank r reads the
// contiguous slice [r*batch, (r+1)*batch) of it, so world=2, batch=b equals world=1, batch=2b and
// ranks read disjoint sequences. The position is one counter, saved and restored exactly.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hld/data/shards.h"

namespace hld::data {

class BatchStream {
 public:
  /// dir: a split directory (DIR/train). InputError when it is not a valid split, holds fewer
  /// than context+1 tokens, or an argument is out of range.
  BatchStream(const std::string& dir, int64_t batch, int64_t context, uint64_t seed, int rank = 0, int world = 1);
  ~BatchStream();

  /// Fills tokens_BxT1 (row-major, batch*(context+1) ids) and seq_ids (the unshuffled global
  /// sequence index of each row, the key of teacher-cache entries), then advances one step.
  void next(std::vector<int32_t>& tokens_BxT1, std::vector<int64_t>& seq_ids);

  /// Everything needed to continue exactly: the global step plus the stream's identity (data,
  /// tokenizer, BOS layout: `bos`, also what a checkpoint records as its model's training layout).
  nlohmann::json position() const;
  /// Continues from `p`. InputError if it was saved from a stream over other data (tokens,
  /// tokenizer), another seed or context, or at a point that is not a whole step of this stream's
  /// global batch (batch*world may differ from the saved one if it divides the consumed count).
  void restore(const nlohmann::json& p);

  int64_t num_sequences() const { return num_sequences_; }  ///< sequences per epoch
  uint64_t num_tokens() const;
  const std::string& tokenizer_hash() const;
  int64_t vocab_size() const;  ///< from the shard header
  int32_t eos_id() const;
  /// True when the split's documents are `BOS text EOS` (ShardSet::bos()).
  bool bos() const;

  /// Sequence i (unshuffled, 0 <= i < num_sequences) → context+1 ids in `out`.
  void sequence(int64_t i, std::vector<int32_t>& out) const;

  /// Which sequence the global (all ranks) position p of the shuffled order holds.
  int64_t sequence_at(uint64_t global_position) const;

  int64_t step() const { return step_; }  ///< global steps taken so far
  int64_t epoch() const;                  ///< epoch of the next row this rank reads
  int64_t batch() const { return batch_; }
  int64_t context() const { return context_; }
  int rank() const { return rank_; }
  int world() const { return world_; }
  const ShardSet& shards() const { return *shards_; }

 private:
  std::unique_ptr<ShardSet> shards_;
  int64_t batch_, context_;
  uint64_t seed_;
  int rank_, world_;
  int64_t num_sequences_ = 0;
  int64_t step_ = 0;
};

}  // namespace hld::data
