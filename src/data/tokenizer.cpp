// SentencePiece tokenizer wrapper: loads a .model file, encodes, decodes, and hashes the model
// bytes (FNV-1a, hex) so shard and cache headers can record which tokenizer produced them. Every
// SentencePiece call goes through the shim library (spm_lib.h).
#include "hld/data/tokenizer.h"

#include <stdexcept>

#include "hld/data/spm_lib.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::data {
namespace {

void append_bytes(void* ctx, const char* d, size_t n) { static_cast<std::string*>(ctx)->append(d, n); }
void assign_ids(void* ctx, const int32_t* ids, size_t n) {
  static_cast<std::vector<int32_t>*>(ctx)->assign(ids, ids + n);
}

}  // namespace

Tokenizer::Tokenizer(const std::string& model_path) : path_(model_path) {
  const std::string bytes = util::read_file(model_path);
  std::string err;
  sp_ = spm::api().load(bytes.data(), bytes.size(), append_bytes, &err);
  HLD_INPUT_CHECK(sp_, "tokenizer model '" + model_path + "' is not a SentencePiece model: " + err);
  if (spm::api().piece_size(sp_) <= 0) {
    spm::api().free(sp_);
    throw InputError("tokenizer model '" + model_path + "' has an empty vocabulary");
  }
  hash_ = util::hex64(util::fnv1a64(bytes));
}

Tokenizer::~Tokenizer() {
  if (sp_) spm::api().free(sp_);
}

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int32_t> ids;
  std::string err;
  if (spm::api().encode(sp_, text.data(), text.size(), assign_ids, &ids, append_bytes, &err) != 0)
    throw std::runtime_error("[tokenizer] encode failed: " + err);
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  const int n = spm::api().piece_size(sp_);
  for (int32_t id : ids)
    HLD_INPUT_CHECK(id >= 0 && id < n, "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                           std::to_string(n) + ") of '" + path_ + "'");
  std::string text, err;
  if (spm::api().decode(sp_, ids.data(), ids.size(), append_bytes, &text, append_bytes, &err) != 0)
    throw std::runtime_error("[tokenizer] decode failed: " + err);
  return text;
}

int64_t Tokenizer::vocab_size() const { return spm::api().piece_size(sp_); }
int32_t Tokenizer::pad_id() const { return spm::api().special_id(sp_, 0); }
int32_t Tokenizer::eos_id() const { return spm::api().special_id(sp_, 1); }
int32_t Tokenizer::bos_id() const { return spm::api().special_id(sp_, 2); }
int32_t Tokenizer::unk_id() const { return spm::api().special_id(sp_, 3); }

std::string Tokenizer::id_to_piece(int32_t id) const {
  HLD_INPUT_CHECK(id >= 0 && id < spm::api().piece_size(sp_),
                  "token id " + std::to_string(id) + " is outside the vocabulary of '" + path_ + "'");
  std::string piece;
  spm::api().id_to_piece(sp_, id, append_bytes, &piece);
  return piece;
}

float Tokenizer::score(int32_t id) const { return spm::api().score(sp_, id); }

}  // namespace hld::data
