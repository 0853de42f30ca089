// The BOS convention an evaluation scores with: whether a BOS goes before every context that is
// encoded (lm-evaluation-harness's `add_bos_token`) and which token stands in for an empty context
// and starts the rolling windows (its `prefix_token_id`), from eval.add_bos / eval.prefix_token and
// what is known about the model.
//
// `auto` follows the harness: for a Gemma-family model it sets add_bos_token=True, and its prefix
// token is the tokenizer's BOS whenever there is one. hld-train applies that to Hugging Face Gemma
// directories, to models made by import-hf and to models trained on `BOS text EOS` shards; a model
// trained on `text EOS` shards (or one with no recorded layout) is scored as it was trained: no
// BOS, EOS as the prefix.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "hld/config/experiment.h"

namespace hld::eval {

/// What the tokenizer offers: ids of its special pieces (-1: absent) and its size.
struct SpecialTokens {
  int32_t bos = -1;
  int32_t eos = 1;
  int64_t vocab = 0;
};

struct Convention {
  bool add_bos = false;      ///< BOS before every context (harness tok_encode with special tokens)
  int32_t bos_token = -1;    ///< the BOS id that add_bos puts there
  int32_t prefix_token = 1;  ///< empty-context stand-in and rolling-window prefix
  std::string reason;        ///< how `auto` was decided (recorded in eval.json)
  nlohmann::json to_json() const;
};

/// Resolves eval.add_bos / eval.prefix_token. `model_bos`: the model was trained on (or, for Hugging
/// Face Gemma checkpoints, is known to expect) `BOS text EOS`; `model_bos_source` says how that is
/// known (model::read_data_layout). InputError naming the key when add_bos: true or
/// prefix_token: bos asks for a BOS the tokenizer lacks, or a prefix id is outside the vocabulary.
Convention resolve_convention(const config::EvalConfig& cfg, bool model_bos, const std::string& model_bos_source,
                              const SpecialTokens& tok);

}  // namespace hld::eval
