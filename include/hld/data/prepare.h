// `hld-train prepare` as a library function: raw text → token shards for a train and a valid
// split (DIR/train, DIR/valid). Documents are split either by a seeded hash of their text
// (`valid_fraction`) or by file (`valid_inputs`; train documents whose text also occurs in the
// valid files are dropped), so no document is in both. Encoding runs on several threads; the
// order of documents in the shards is the input order regardless. Re-running with the same
// tokenizer, inputs (path, size, mtime) and settings on finished output does nothing.
// Each split's index.json records `inputs`, `settings`, `tokenizer_path`, `reader` (the counters
// of the reader that fed it: in hash mode one reader feeds both splits, so both show the same
// counts) and, for train, `dropped_in_valid`.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "hld/data/corpus_reader.h"

namespace hld::data {

struct PrepareOptions {
  std::string tokenizer;                 ///< SentencePiece .model
  std::vector<std::string> inputs;       ///< training text (and validation when valid_fraction > 0)
  std::vector<std::string> valid_inputs; ///< when set: the validation split, read whole
  std::string out_dir;                   ///< writes out_dir/train and out_dir/valid
  double valid_fraction = 0.01;          ///< share of documents hashed into valid (no valid_inputs)
  uint64_t split_seed = 0;               ///< seed of the document hash
  int64_t shard_tokens = int64_t{1} << 27;  ///< tokens per shard (256 MiB of uint16)
  ReaderOptions reader;                  ///< text field, strict, allow_truncated_gz
  int threads = 0;                       ///< encoding threads (0: hardware)
  double progress_seconds = 5;           ///< seconds between progress lines (<= 0: none)
};

struct PrepareResult {
  bool up_to_date = false;               ///< nothing was done: the output already matched
  nlohmann::json train_index, valid_index;
  ReaderStats train_reader, valid_reader;  ///< same object twice in valid_fraction mode
  int64_t dropped_in_valid = 0;          ///< train documents also present in valid_inputs
  double seconds = 0;
};

/// True when `text` goes to the valid split: a 53-bit hash of (seed, text) below `fraction`.
bool hash_to_valid(const std::string& text, double fraction, uint64_t seed);

/// Runs the whole preparation. Bad options, missing inputs, a tokenizer that does not load or
/// (strict mode) a bad line → InputError, and whatever this run wrote is removed again.
PrepareResult prepare_shards(const PrepareOptions& opts);

}  // namespace hld::data
