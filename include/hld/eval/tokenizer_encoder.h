// Adapter: hld::data::Tokenizer (SentencePiece, no special tokens added) as an eval TextEncoder.
#pragma once

#include "hld/data/tokenizer.h"
#include "hld/eval/requests.h"

namespace hld::eval {

class TokenizerEncoder : public TextEncoder {
 public:
  explicit TokenizerEncoder(const data::Tokenizer& tok) : tok_(tok) {}
  std::vector<int32_t> encode(const std::string& text) const override { return tok_.encode(text); }

 private:
  const data::Tokenizer& tok_;
};

}  // namespace hld::eval
