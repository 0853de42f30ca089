// ShardWriter: streams token ids of one split into shard_NNNNN.bin files (temporary name, fsync,
// rename), each with a JSON header, and finally index.json. Also the dtype helpers.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>
#include <stdexcept>

#include "hld/data/shards.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "token shards are read in place as little-endian");

namespace hld::data {

TokenDtype dtype_for_vocab(int64_t vocab_size) {
  return vocab_size <= 65536 ? TokenDtype::kUint16 : TokenDtype::kUint32;
}
const char* dtype_name(TokenDtype t) { return t == TokenDtype::kUint16 ? "uint16" : "uint32"; }
size_t dtype_bytes(TokenDtype t) { return t == TokenDtype::kUint16 ? 2 : 4; }

std::string shard_file_name(int64_t index, const char* ext) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "shard_%05lld.%s", static_cast<long long>(index), ext);
  return buf;
}

ShardWriter::ShardWriter(std::string dir, std::string split, std::string tokenizer_hash, int64_t vocab_size,
                         int32_t eos_id, int64_t shard_tokens, std::function<nlohmann::json()> reader_stats)
    : dir_(std::move(dir)),
      split_(std::move(split)),
      tokenizer_hash_(std::move(tokenizer_hash)),
      vocab_size_(vocab_size),
      eos_id_(eos_id),
      shard_tokens_(shard_tokens),
      dtype_(dtype_for_vocab(vocab_size)),
      reader_stats_(std::move(reader_stats)) {
  HLD_INPUT_CHECK(shard_tokens_ > 0, "shard size in tokens must be positive");
  HLD_INPUT_CHECK(vocab_size_ > 0 && eos_id_ >= 0 && eos_id_ < vocab_size_, "tokenizer has no valid EOS id");
  std::filesystem::create_directories(dir_);
  // From here on the old output (if any) is being replaced: without an index it reads as unfinished.
  std::error_code ec;
  std::filesystem::remove(dir_ + "/index.json", ec);
  buf_.reserve(1 << 22);
}

ShardWriter::~ShardWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
  }
}

void ShardWriter::open_shard() {
  const std::string name = shard_file_name(static_cast<int64_t>(shards_.size()), "bin");
  tmp_path_ = dir_ + "/" + name + ".tmp." + std::to_string(::getpid());
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot create '" + tmp_path_ + "': " + std::strerror(errno));
  shard_tok_ = 0;
  shard_docs_ = 0;
  checksum_ = 1469598103934665603ULL;  // FNV-1a offset basis: the checksum of the shard's bytes
  shard_sources_.clear();
}

void ShardWriter::flush() {
  size_t off = 0;
  while (off < buf_.size()) {
    const ssize_t w = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot write '" + tmp_path_ + "': " + std::strerror(errno));
    }
    off += static_cast<size_t>(w);
  }
  checksum_ = util::fnv1a64(buf_.data(), buf_.size(), checksum_);
  buf_.clear();
}

void ShardWriter::add_document(const std::vector<int32_t>& ids_T, const std::string& source) {
  if (finished_) throw std::logic_error("ShardWriter::add_document after finish");
  if (fd_ < 0) open_shard();
  auto put = [&](int32_t id) {
    if (id < 0 || id >= vocab_size_)
      throw std::runtime_error("[shards] token id " + std::to_string(id) + " outside the vocabulary");
    const auto v = static_cast<uint32_t>(id);
    buf_.push_back(static_cast<unsigned char>(v & 0xff));
    buf_.push_back(static_cast<unsigned char>((v >> 8) & 0xff));
    if (dtype_ == TokenDtype::kUint32) {
      buf_.push_back(static_cast<unsigned char>((v >> 16) & 0xff));
      buf_.push_back(static_cast<unsigned char>(v >> 24));
    }
  };
  for (int32_t id : ids_T) put(id);
  put(eos_id_);
  const uint64_t n = ids_T.size() + 1;
  shard_tok_ += n;
  total_tokens_ += n;
  ++shard_docs_;
  ++total_docs_;
  if (shard_sources_.empty() || shard_sources_.back() != source) {
    bool seen = false;
    for (const auto& s : shard_sources_) seen = seen || s == source;
    if (!seen) shard_sources_.push_back(source);
  }
  if (buf_.size() >= (1u << 22)) flush();
  if (static_cast<int64_t>(shard_tok_) >= shard_tokens_) close_shard();
}

void ShardWriter::close_shard() {
  flush();
  if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
    fd_ = -1;
    throw std::runtime_error("cannot write '" + tmp_path_ + "': " + std::strerror(errno));
  }
  fd_ = -1;
  const int64_t index = static_cast<int64_t>(shards_.size());
  const std::string bin = shard_file_name(index, "bin"), hdr = shard_file_name(index, "json");
  const std::string final_path = dir_ + "/" + bin;
  if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0)
    throw std::runtime_error("cannot rename '" + tmp_path_ + "': " + std::strerror(errno));
  created_.push_back(final_path);
  const uint64_t bytes = shard_tok_ * dtype_bytes(dtype_);
  nlohmann::json header = {
      {"format", "hld-token-shard"},
      {"version", 1},
      {"split", split_},
      {"file", bin},
      {"dtype", dtype_name(dtype_)},
      {"tokens", shard_tok_},
      {"documents", shard_docs_},
      {"bytes", bytes},
      {"checksum", util::hex64(checksum_)},
      {"tokenizer_hash", tokenizer_hash_},
      {"vocab_size", vocab_size_},
      {"eos_id", eos_id_},
      {"sources", shard_sources_},
  };
  if (reader_stats_) header["reader_stats_at_close"] = reader_stats_();
  util::write_file_atomic(dir_ + "/" + hdr, header.dump(2) + "\n");
  created_.push_back(dir_ + "/" + hdr);
  shards_.push_back({{"file", bin}, {"header", hdr}, {"tokens", shard_tok_}, {"documents", shard_docs_},
                     {"bytes", bytes}, {"checksum", util::hex64(checksum_)}});
}

nlohmann::json ShardWriter::finish(const nlohmann::json& extra) {
  if (finished_) throw std::logic_error("ShardWriter::finish called twice");
  if (fd_ >= 0) close_shard();
  finished_ = true;
  nlohmann::json index = {
      {"format", "hld-token-shards"},
      {"version", 1},
      {"split", split_},
      {"dtype", dtype_name(dtype_)},
      {"tokenizer_hash", tokenizer_hash_},
      {"vocab_size", vocab_size_},
      {"eos_id", eos_id_},
      {"tokens", total_tokens_},
      {"documents", total_docs_},
      {"shard_tokens", shard_tokens_},
      {"shards", shards_},
  };
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) index[it.key()] = it.value();
  util::write_file_atomic(dir_ + "/index.json", index.dump(2) + "\n");
  // Shards of an earlier, longer run are no longer listed: remove them (only our own file names).
  std::set<std::string> keep;
  for (const auto& s : shards_) {
    keep.insert(s["file"].get<std::string>());
    keep.insert(s["header"].get<std::string>());
  }
  static const std::regex ours(R"(shard_\d{5,}\.(bin|json))");
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, ours) && !keep.count(name)) std::filesystem::remove(e.path());
  }
  return index;
}

void ShardWriter::abort() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
    fd_ = -1;
  }
  for (const auto& p : created_) ::unlink(p.c_str());
  created_.clear();
  std::error_code ec;
  std::filesystem::remove(dir_, ec);  // only succeeds when empty
  finished_ = true;
}

}  // namespace hld::data
