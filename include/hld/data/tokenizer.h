// SentencePiece tokenizer: training a unigram model from a streamed sample of documents, encoding
// and decoding, and an identity hash recorded in shard and cache headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hld/data/corpus_reader.h"
#include "hld/data/piece_scores.h"

struct hld_spm;

namespace hld::data {

class Tokenizer {
 public:
  /// Loads a SentencePiece .model file; throws InputError naming the path when it cannot.
  explicit Tokenizer(const std::string& model_path);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  std::vector<int32_t> encode(const std::string& text) const;
  std::string decode(const std::vector<int32_t>& ids) const;
  int64_t vocab_size() const;
  int32_t eos_id() const;
  int32_t bos_id() const;
  int32_t pad_id() const;
  int32_t unk_id() const;
  /// The piece string of `id` (for `tokenizer encode --pieces`); InputError when out of range.
  std::string id_to_piece(int32_t id) const;
  /// The piece's unigram log-probability (for the .vocab listing).
  float score(int32_t id) const;
  /// Hash of the model file's bytes (hex), stored in shard and cache headers.
  const std::string& hash() const { return hash_; }
  const std::string& path() const { return path_; }

 private:
  hld_spm* sp_ = nullptr;  ///< owned; lives in the SentencePiece shim (spm_lib.h)
  std::string hash_, path_;
};

/// What `hld-train tokenizer train` needs. Ids follow Gemma: pad 0, eos 1, bos 2, unk 3.
struct TokenizerTrainOptions {
  std::vector<std::string> inputs;     ///< corpus files (see corpus_reader.h for formats)
  ReaderOptions reader;                ///< text field, strictness
  std::string out_prefix;              ///< writes <prefix>.model, <prefix>.vocab, <prefix>.json
  int64_t vocab_size = 32000;          ///< paper: 32k on C4 English
  double character_coverage = 0.9995;  ///< SentencePiece's default for alphabet-rich corpora
  int64_t sample_docs = 100000;        ///< documents reservoir-sampled while streaming (0: all);
                                       ///< ~220 MB of C4 text, a few GB of trainer memory
  uint64_t seed = 0;                   ///< reservoir sampling seed
  int64_t max_sentence_bytes = 8192;   ///< documents are cut into pieces of at most this size
  int num_threads = 0;                 ///< SentencePiece trainer threads (0: hardware)
  bool verbose = false;                ///< show SentencePiece's own training log
  int score_bits = kScoreGridBits;     ///< piece scores rounded to multiples of 2^-score_bits so that
                                       ///< SentencePiece and HF tokenizers segment alike (piece_scores.h);
                                       ///< negative: the scores as SentencePiece trained them
};

struct TokenizerTrainResult {
  std::string model_path;
  int64_t documents_seen = 0;     ///< documents read from the inputs
  int64_t documents_sampled = 0;  ///< documents passed to the trainer
  int64_t sentences = 0;          ///< pieces of at most max_sentence_bytes passed to the trainer
  ReaderStats reader;
};

/// Streams `opts.inputs`, reservoir-samples documents, trains a unigram model (byte fallback,
/// digits split, identity normalisation so decode(encode(x)) == x), rounds its scores onto the
/// 2^-score_bits grid and writes `<prefix>.model` atomically. Bad arguments or inputs →
/// InputError; nothing is written then.
TokenizerTrainResult train_tokenizer(const TokenizerTrainOptions& opts);

}  // namespace hld::data
