// A SentencePiece model as the Hugging Face tokenizer files that travel with an exported model:
// tokenizer.model (the model itself), tokenizer.json (the fast-tokenizer form that transformers'
// SentencePiece converter builds for a unigram model: same vocabulary and scores, byte fallback,
// the model's own normaliser settings), tokenizer_config.json and special_tokens_map.json. The
// BOS convention follows the model's training layout: `BOS text EOS` → add_bos_token true and a
// BOS post-processor (Gemma's own tokenizer); `text EOS` → add_bos_token false and no bos_token,
// so that lm-evaluation-harness (≥ 0.4.9.2) and AutoTokenizer score and encode as it was trained.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hld::hf {

/// The settings of a serialised SentencePiece ModelProto that decide how text is normalised and
/// split, read from the protobuf wire format (bounds-checked: the file is untrusted).
struct SpmSettings {
  int model_type = 1;  ///< TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  std::string normalizer_name;       ///< NormalizerSpec.name ("identity", "nmt_nfkc", ...)
  std::string precompiled_charsmap;  ///< NormalizerSpec.precompiled_charsmap (empty for identity)
  bool add_dummy_prefix = true;      ///< proto2 defaults, as SentencePiece reads them
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
  std::vector<int> piece_types;  ///< ModelProto.pieces[i].type (1 normal ... 6 byte)
};

/// Parses `bytes` (a .model file); InputError naming `what` when it is not a valid ModelProto.
SpmSettings read_spm_settings(const std::string& bytes, const std::string& what);

/// tokenizer.json for the SentencePiece model at `model_path` (with a post-processor that puts BOS
/// first when `add_bos`). InputError when the model is not a unigram model or uses a setting the
/// fast tokenizer cannot reproduce (whitespace as suffix).
std::string tokenizer_json(const std::string& model_path, bool add_bos = true);

/// Writes DIR/tokenizer.model, tokenizer_config.json, special_tokens_map.json and, for unigram
/// models, tokenizer.json. `model_max_length` goes into tokenizer_config.json; `add_bos`: the model
/// was trained on `BOS text EOS` (see above). Returns the names of the files written.
std::vector<std::string> write_hf_tokenizer(const std::string& model_path, const std::string& dir,
                                            int64_t model_max_length, bool add_bos = true);

}  // namespace hld::hf
