// ShardSet: opens a split directory written by ShardWriter, validates index.json against every
// shard header and file size, memory-maps the shards and serves token ranges of their
// concatenation. Every inconsistency is an InputError naming the offending file. Reads shard
// format 2 (XXH3 checksums) and 1 (FNV-1a, older versions); a split without the BOS layout fields
// (written before they existed) is `text EOS`.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <regex>

#include "hld/data/shards.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "hld/util/hash.h"

namespace hld::data {
namespace {

nlohmann::json load_json(const std::string& path) {
  struct stat st {};
  HLD_INPUT_CHECK(::stat(path.c_str(), &st) == 0,
                  "'" + path + "' does not exist (is this a split directory written by `hld-train prepare`?)");
  HLD_INPUT_CHECK(st.st_size < (64 << 20), "'" + path + "' is too large for a shard header");
  auto j = nlohmann::json::parse(util::read_file(path), nullptr, false);
  HLD_INPUT_CHECK(!j.is_discarded() && j.is_object(), "'" + path + "' is not a JSON object (corrupt header)");
  return j;
}

const nlohmann::json& field(const nlohmann::json& j, const char* key, const std::string& file) {
  auto it = j.find(key);
  HLD_INPUT_CHECK(it != j.end(), "'" + file + "': missing field '" + key + "'");
  return *it;
}

uint64_t get_u64(const nlohmann::json& j, const char* key, const std::string& file) {
  const auto& v = field(j, key, file);
  HLD_INPUT_CHECK(v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0),
                  "'" + file + "': field '" + key + "' must be a non-negative integer");
  return v.get<uint64_t>();
}

std::string get_str(const nlohmann::json& j, const char* key, const std::string& file) {
  const auto& v = field(j, key, file);
  HLD_INPUT_CHECK(v.is_string(), "'" + file + "': field '" + key + "' must be a string");
  return v.get<std::string>();
}

/// The `bos` / `bos_id` fields of a header or index: the BOS id, or -1 for `text EOS` (also when
/// the fields are absent: splits written before the layout was recorded).
int32_t read_bos_id(const nlohmann::json& j, uint64_t vocab, const std::string& file) {
  auto it = j.find("bos");
  if (it == j.end()) return -1;
  HLD_INPUT_CHECK(it->is_boolean(), "'" + file + "': field 'bos' must be true or false");
  if (!it->get<bool>()) return -1;
  const uint64_t id = get_u64(j, "bos_id", file);
  HLD_INPUT_CHECK(id < vocab, "'" + file + "': bos_id outside the vocabulary");
  return static_cast<int32_t>(id);
}

}  // namespace

ShardSet::ShardSet(const std::string& dir, const std::string& expected_tokenizer_hash) : dir_(dir) {
  const std::string index_path = dir_ + "/index.json";
  index_ = load_json(index_path);
  HLD_INPUT_CHECK(get_str(index_, "format", index_path) == "hld-token-shards",
                  "'" + index_path + "': not a token shard index (format)");
  const uint64_t version = get_u64(index_, "version", index_path);
  HLD_INPUT_CHECK(version == 1 || version == 2, "'" + index_path + "': shard format version " +
                                                    std::to_string(version) + ", this build reads 1 and " +
                                                    std::to_string(kShardFormatVersion) +
                                                    " (re-run `hld-train prepare` with this build)");
  const util::HashAlgo algo = version == 1 ? util::HashAlgo::kFnv1a : util::HashAlgo::kXxh3;
  const std::string dtype = get_str(index_, "dtype", index_path);
  HLD_INPUT_CHECK(dtype == "uint16" || dtype == "uint32",
                  "'" + index_path + "': dtype must be uint16 or uint32, got '" + dtype + "'");
  dtype_ = dtype == "uint16" ? TokenDtype::kUint16 : TokenDtype::kUint32;
  const uint64_t vocab = get_u64(index_, "vocab_size", index_path);
  HLD_INPUT_CHECK(vocab > 0 && vocab <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max()),
                  "'" + index_path + "': invalid vocab_size");
  HLD_INPUT_CHECK(dtype_ == TokenDtype::kUint32 || vocab <= 65536,
                  "'" + index_path + "': vocab_size " + std::to_string(vocab) + " does not fit uint16");
  vocab_size_ = static_cast<int64_t>(vocab);
  const uint64_t eos = get_u64(index_, "eos_id", index_path);
  HLD_INPUT_CHECK(eos < vocab, "'" + index_path + "': eos_id outside the vocabulary");
  eos_id_ = static_cast<int32_t>(eos);
  bos_id_ = read_bos_id(index_, vocab, index_path);
  HLD_INPUT_CHECK(bos_id_ != eos_id_, "'" + index_path + "': bos_id equals eos_id");
  tokenizer_hash_ = get_str(index_, "tokenizer_hash", index_path);
  HLD_INPUT_CHECK(expected_tokenizer_hash.empty() || expected_tokenizer_hash == tokenizer_hash_,
                  "'" + index_path + "' was written with tokenizer " + tokenizer_hash_ + ", expected " +
                      expected_tokenizer_hash + " (re-run `hld-train prepare` with this tokenizer)");
  const auto& list = field(index_, "shards", index_path);
  HLD_INPUT_CHECK(list.is_array(), "'" + index_path + "': 'shards' must be a list");
  static const std::regex name_re(R"(shard_\d{5,}\.bin)");
  const size_t width = dtype_bytes(dtype_);
  for (const auto& entry : list) {
    HLD_INPUT_CHECK(entry.is_object(), "'" + index_path + "': shard entries must be objects");
    const std::string file = get_str(entry, "file", index_path);
    HLD_INPUT_CHECK(std::regex_match(file, name_re), "'" + index_path + "': bad shard file name '" + file + "'");
    const std::string bin_path = dir_ + "/" + file;
    const std::string hdr_path = dir_ + "/" + file.substr(0, file.size() - 4) + ".json";
    Mapped m;
    m.path = bin_path;
    m.tokens = get_u64(entry, "tokens", index_path);
    HLD_INPUT_CHECK(m.tokens <= (uint64_t{1} << 50), "'" + index_path + "': implausible token count for " + file);
    const std::string checksum = get_str(entry, "checksum", index_path);
    // The header next to the shard must agree with the index.
    const auto hdr = load_json(hdr_path);
    HLD_INPUT_CHECK(get_str(hdr, "format", hdr_path) == "hld-token-shard", "'" + hdr_path + "': not a shard header");
    HLD_INPUT_CHECK(get_str(hdr, "dtype", hdr_path) == dtype, "'" + hdr_path + "': dtype differs from the index");
    HLD_INPUT_CHECK(get_u64(hdr, "tokens", hdr_path) == m.tokens,
                    "'" + hdr_path + "': token count differs from the index");
    HLD_INPUT_CHECK(get_str(hdr, "tokenizer_hash", hdr_path) == tokenizer_hash_,
                    "'" + hdr_path + "': tokenizer hash differs from the index");
    HLD_INPUT_CHECK(get_str(hdr, "checksum", hdr_path) == checksum,
                    "'" + hdr_path + "': checksum differs from the index");
    HLD_INPUT_CHECK(read_bos_id(hdr, vocab, hdr_path) == bos_id_,
                    "'" + hdr_path + "': BOS layout (bos, bos_id) differs from the index");
    m.checksum = util::parse_digest(checksum, "'" + hdr_path + "'");
    HLD_INPUT_CHECK(m.checksum.algo == algo, "'" + hdr_path + "': a " + util::algo_name(m.checksum.algo) +
                                                 " checksum in a shard set of format version " +
                                                 std::to_string(version));
    // Every document ends with EOS, so a shard holds at most as many documents as tokens (this also
    // keeps the split's document total far from overflowing).
    const uint64_t docs = get_u64(hdr, "documents", hdr_path);
    HLD_INPUT_CHECK(docs <= m.tokens, "'" + hdr_path + "': " + std::to_string(docs) + " documents in " +
                                          std::to_string(m.tokens) + " tokens: expected at most one per token");
    num_documents_ += static_cast<int64_t>(docs);
    // The data file must hold exactly `tokens` ids.
    const int fd = ::open(bin_path.c_str(), O_RDONLY);
    HLD_INPUT_CHECK(fd >= 0, "cannot open shard '" + bin_path + "': " + std::strerror(errno));
    struct stat st {};
    ::fstat(fd, &st);
    m.bytes = static_cast<size_t>(m.tokens * width);
    if (static_cast<uint64_t>(st.st_size) != m.bytes) {
      ::close(fd);
      throw InputError("shard '" + bin_path + "' has " + std::to_string(st.st_size) + " bytes, its header says " +
                       std::to_string(m.tokens) + " " + dtype + " tokens (" + std::to_string(m.bytes) +
                       " bytes): truncated or corrupt");
    }
    if (m.bytes > 0) {
      void* p = ::mmap(nullptr, m.bytes, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        throw std::runtime_error("cannot mmap '" + bin_path + "': " + std::strerror(errno));
      }
      m.data = static_cast<const unsigned char*>(p);
    }
    ::close(fd);
    m.first = num_tokens_;
    num_tokens_ += m.tokens;
    shards_.push_back(m);
  }
  HLD_INPUT_CHECK(num_tokens_ == get_u64(index_, "tokens", index_path),
                  "'" + index_path + "': total token count differs from the sum over its shards");
  HLD_INPUT_CHECK(static_cast<uint64_t>(num_documents_) == get_u64(index_, "documents", index_path),
                  "'" + index_path + "': document count differs from the sum over its shard headers");
}

ShardSet::~ShardSet() {
  for (auto& m : shards_)
    if (m.data) ::munmap(const_cast<unsigned char*>(m.data), m.bytes);
}

void ShardSet::read(uint64_t start, size_t n, int32_t* out_N) const {
  HLD_INPUT_CHECK(start <= num_tokens_ && n <= num_tokens_ - start,
                  "token range [" + std::to_string(start) + ", +" + std::to_string(n) + ") is outside '" + dir_ +
                      "' (" + std::to_string(num_tokens_) + " tokens)");
  if (n == 0) return;
  // Last shard whose first token is <= start (skipping empty shards by construction of first).
  auto it =
      std::upper_bound(shards_.begin(), shards_.end(), start, [](uint64_t s, const Mapped& m) { return s < m.first; });
  size_t k = static_cast<size_t>(it - shards_.begin()) - 1;
  uint64_t pos = start;
  size_t done = 0;
  while (done < n) {
    while (pos >= shards_[k].first + shards_[k].tokens) ++k;
    const Mapped& m = shards_[k];
    const uint64_t local = pos - m.first;
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n - done, m.tokens - local));
    uint32_t bad = 0;
    const auto vocab = static_cast<uint32_t>(vocab_size_);
    if (dtype_ == TokenDtype::kUint16) {
      const auto* src = reinterpret_cast<const uint16_t*>(m.data) + local;
      for (size_t i = 0; i < take; ++i) {
        out_N[done + i] = src[i];
        bad |= static_cast<uint32_t>(src[i] >= vocab);
      }
    } else {
      const auto* src = reinterpret_cast<const uint32_t*>(m.data) + local;
      for (size_t i = 0; i < take; ++i) {
        out_N[done + i] = static_cast<int32_t>(src[i]);
        bad |= static_cast<uint32_t>(src[i] >= vocab);
      }
    }
    HLD_INPUT_CHECK(!bad, "shard '" + m.path + "' holds token ids outside the vocabulary (" +
                              std::to_string(vocab_size_) + "): corrupt");
    done += take;
    pos += take;
  }
}

void ShardSet::verify() const {
  // In 64 MiB windows of the mapping, each dropped from this process once hashed (the pages stay
  // in the page cache): verifying a large split does not grow the resident set by its size.
  constexpr size_t kWindow = size_t{64} << 20;
  for (const auto& m : shards_) {
    util::Checksum sum(m.checksum.algo);
    for (size_t at = 0; at < m.bytes; at += kWindow) {
      const size_t n = std::min(kWindow, m.bytes - at);
      sum.update(m.data + at, n);
      ::madvise(const_cast<unsigned char*>(m.data) + at, n, MADV_DONTNEED);  // read-only mapping: refetched
    }
    const util::Digest h = sum.digest();
    HLD_INPUT_CHECK(h == m.checksum,
                    "shard '" + m.path + "' fails its checksum (" + h.str() + " != " + m.checksum.str() + "): corrupt");
  }
}

}  // namespace hld::data
