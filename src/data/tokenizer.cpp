// SentencePiece tokenizer wrapper: loads a .model file, encodes, decodes, and hashes the model
// bytes (FNV-1a, hex) so shard and cache headers can record which tokenizer produced them.
#include "hld/data/tokenizer.h"

#include <sentencepiece_processor.h>

#include <stdexcept>

#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::data {

Tokenizer::Tokenizer(const std::string& model_path)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()), path_(model_path) {
  const std::string bytes = util::read_file(model_path);
  const auto st = sp_->LoadFromSerializedProto(bytes);
  HLD_INPUT_CHECK(st.ok(), "tokenizer model '" + model_path + "' is not a SentencePiece model: " + st.ToString());
  HLD_INPUT_CHECK(sp_->GetPieceSize() > 0, "tokenizer model '" + model_path + "' has an empty vocabulary");
  hash_ = util::hex64(util::fnv1a64(bytes));
}

Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  const auto st = sp_->Encode(text, &ids);
  if (!st.ok()) throw std::runtime_error("[tokenizer] encode failed: " + st.ToString());
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  const int n = sp_->GetPieceSize();
  for (int32_t id : ids)
    HLD_INPUT_CHECK(id >= 0 && id < n, "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                           std::to_string(n) + ") of '" + path_ + "'");
  std::string text;
  const auto st = sp_->Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  if (!st.ok()) throw std::runtime_error("[tokenizer] decode failed: " + st.ToString());
  return text;
}

int64_t Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }
int32_t Tokenizer::eos_id() const { return sp_->eos_id(); }
int32_t Tokenizer::bos_id() const { return sp_->bos_id(); }
int32_t Tokenizer::pad_id() const { return sp_->pad_id(); }
int32_t Tokenizer::unk_id() const { return sp_->unk_id(); }

std::string Tokenizer::id_to_piece(int32_t id) const {
  HLD_INPUT_CHECK(id >= 0 && id < sp_->GetPieceSize(),
                  "token id " + std::to_string(id) + " is outside the vocabulary of '" + path_ + "'");
  return sp_->IdToPiece(id);
}

}  // namespace hld::data
