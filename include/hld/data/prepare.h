// `hld-train prepare` as a library function: raw text → token shards for a train and a valid
// split (DIR/train, DIR/valid), each document written as `BOS text EOS` (Gemma's pre-training
// layout; `bos = false`: `text EOS`). Documents are split either by a seeded hash of their text
// (`valid_fraction`) or by file (`valid_inputs`; train documents whose text also occurs in the
// valid files are dropped), so no document is in both. Encoding runs on several threads; the
// order of documents in the shards is the input order regardless. Re-running with the same
// tokenizer, inputs (path, size, mtime) and settings on finished output does nothing.
// Each split's index.json records `inputs`, `settings`, `tokenizer_path`, `reader` (the counters
// of the reader that fed it: in hash mode one reader feeds both splits, so both show the same
// counts) and, for train, `dropped_in_valid`; each shard header records `reader_stats_at_close`,
// the counters right after its last document was read.
//
// Resuming: a run killed at any moment (kill -9, power loss) leaves OUT/prepare.progress.json,
// rewritten atomically after every shard that closes, every `checkpoint_seconds`, and before the
// indexes are written: the fingerprint (tokenizer, inputs, settings), the number of input
// documents consumed and each split's finished shards and open shard (whose data is fsynced in
// shard_NNNNN.bin.partial). The next run with the same fingerprint checks the shards against it,
// reads the consumed documents again without encoding them and continues; its output is bitwise
// identical to an uninterrupted run's. A record that does not match (other settings, hand-edited,
// truncated, shards changed since) is logged and the run starts over. The record and leftover
// partial/temporary files are removed when the output is complete (index.json, written last,
// marks a finished split).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hld/data/corpus_reader.h"

namespace hld::data {

struct PrepareOptions {
  std::string tokenizer;                    ///< SentencePiece .model
  std::vector<std::string> inputs;          ///< training text (and validation when valid_fraction > 0)
  std::vector<std::string> valid_inputs;    ///< when set: the validation split, read whole
  std::string out_dir;                      ///< writes out_dir/train and out_dir/valid
  double valid_fraction = 0.01;             ///< share of documents hashed into valid (no valid_inputs)
  uint64_t split_seed = 0;                  ///< seed of the document hash
  int64_t shard_tokens = int64_t{1} << 27;  ///< tokens per shard (256 MiB of uint16)
  bool bos = true;                          ///< BOS before every document, as Gemma is pre-trained and
                                            ///< as lm-evaluation-harness scores Gemma models (--no-bos: off)
  ReaderOptions reader;                     ///< text field, strict, allow_truncated_gz
  int threads = 0;                          ///< encoding threads (0: hardware)
  double progress_seconds = 5;              ///< seconds between progress lines (<= 0: none)
  double checkpoint_seconds = 10;           ///< seconds between progress records at batch ends (<= 0:
                                            ///< only when a shard closes); bounds the work a kill loses
  /// Called at named points of a run, for tests (crash injection, observing a resume): "resume"
  /// {consumed, kept_shards}, "checkpoint" {consumed} after each progress record, "index" {split}
  /// before each index.json is written.
  std::function<void(const std::string& event, const nlohmann::json& info)> on_event;
};

struct PrepareResult {
  bool up_to_date = false;  ///< nothing was done: the output already matched
  nlohmann::json train_index, valid_index;
  ReaderStats train_reader, valid_reader;  ///< same object twice in valid_fraction mode
  int64_t dropped_in_valid = 0;            ///< train documents also present in valid_inputs
  int64_t resumed_at = 0;                  ///< input documents an interrupted run had done (0: fresh)
  int64_t kept_shards = 0;                 ///< finished shards kept from the interrupted run
  double seconds = 0;
};

/// True when `text` goes to the valid split: a 53-bit hash of (seed, text) below `fraction`.
bool hash_to_valid(const std::string& text, double fraction, uint64_t seed);

/// Runs the whole preparation, resuming an interrupted one (see above). Bad options, missing
/// inputs, a tokenizer that does not load or (strict mode) a bad line → InputError, and the
/// shards and progress record of this (and a resumed) run are removed again.
PrepareResult prepare_shards(const PrepareOptions& opts);

}  // namespace hld::data
