// ShardWriter: streams token ids of one split into shard_NNNNN.bin files (partial name, fsync,
// rename), each with a JSON header, and finally index.json; checkpoints and restores its state so
// that a killed `prepare` resumes. Also the dtype helpers.
#include <fcntl.h>
#include <sys/stat.h>
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
#include "hld/util/hash.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "token shards are read in place as little-endian");

namespace hld::data {

TokenDtype dtype_for_vocab(int64_t vocab_size) {
  return vocab_size <= 65536 ? TokenDtype::kUint16 : TokenDtype::kUint32;
}
const char* dtype_name(TokenDtype t) { return t == TokenDtype::kUint16 ? "uint16" : "uint32"; }
size_t dtype_bytes(TokenDtype t) { return t == TokenDtype::kUint16 ? 2 : 4; }

nlohmann::json bos_layout_json(int32_t bos_id) {
  if (bos_id < 0) return {{"bos", false}};
  return {{"bos", true}, {"bos_id", bos_id}};
}

std::string shard_file_name(int64_t index, const char* ext) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "shard_%05lld.%s", static_cast<long long>(index), ext);
  return buf;
}

namespace {

/// What restore() learns from reading a token file's first `bytes` bytes.
struct TokenScan {
  util::Checksum checksum;  // of the bytes read: the streaming state a restored writer continues
  int64_t eos = 0;          // EOS tokens (= documents)
  bool ends_with_eos = false;
};

TokenScan scan_tokens(const std::string& path, uint64_t bytes, size_t width, int32_t eos_id) {
  TokenScan r;
  const int fd = ::open(path.c_str(), O_RDONLY);
  HLD_INPUT_CHECK(fd >= 0, "cannot read '" + path + "': " + std::strerror(errno));
  std::vector<unsigned char> buf(size_t{1} << 20);  // a multiple of the token width
  uint64_t left = bytes;
  uint32_t last = 0;
  while (left > 0) {
    const ssize_t n = ::read(fd, buf.data(), static_cast<size_t>(std::min<uint64_t>(left, buf.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || static_cast<size_t>(n) % width != 0) {  // short reads of a regular file only at its end
      ::close(fd);
      throw InputError("'" + path + "' is shorter than the " + std::to_string(bytes) + " bytes recorded");
    }
    r.checksum.update(buf.data(), static_cast<size_t>(n));
    for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(width)) {
      last = buf[i] | (uint32_t{buf[i + 1]} << 8);
      if (width == 4) last |= (uint32_t{buf[i + 2]} << 16) | (uint32_t{buf[i + 3]} << 24);
      r.eos += last == static_cast<uint32_t>(eos_id);
    }
    left -= static_cast<uint64_t>(n);
  }
  ::close(fd);
  r.ends_with_eos = bytes > 0 && last == static_cast<uint32_t>(eos_id);
  return r;
}

/// InputError unless `sum` is a digest of this format version's algorithm (XXH3).
void check_digest_algo(const std::string& sum, const std::string& where) {
  const util::Digest d = util::parse_digest(sum, where + ": checksum");
  HLD_INPUT_CHECK(d.algo == util::HashAlgo::kXxh3, where + ": written by an older hld-train (" +
                                                       util::algo_name(d.algo) + " checksums, shard format 1)");
}

uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

/// A non-negative integer field no larger than `max`, else InputError naming `what`.
uint64_t u64_field(const nlohmann::json& j, const char* key, uint64_t max, const std::string& what) {
  HLD_INPUT_CHECK(j.is_object() && j.contains(key) && j[key].is_number_unsigned() && j[key].get<uint64_t>() <= max,
                  what + ": '" + key + "' missing or out of range");
  return j[key].get<uint64_t>();
}

}  // namespace

ShardWriter::ShardWriter(std::string dir, std::string split, std::string tokenizer_hash, int64_t vocab_size,
                         int32_t eos_id, int64_t shard_tokens, std::function<nlohmann::json()> reader_stats,
                         int32_t bos_id)
    : dir_(std::move(dir)),
      split_(std::move(split)),
      tokenizer_hash_(std::move(tokenizer_hash)),
      vocab_size_(vocab_size),
      eos_id_(eos_id),
      shard_tokens_(shard_tokens),
      bos_id_(bos_id),
      dtype_(dtype_for_vocab(vocab_size)),
      reader_stats_(std::move(reader_stats)) {
  HLD_INPUT_CHECK(shard_tokens_ > 0, "shard size in tokens must be positive");
  HLD_INPUT_CHECK(vocab_size_ > 0 && eos_id_ >= 0 && eos_id_ < vocab_size_, "tokenizer has no valid EOS id");
  HLD_INPUT_CHECK(bos_id_ >= -1 && bos_id_ < vocab_size_ && bos_id_ != eos_id_, "tokenizer has no valid BOS id");
  std::filesystem::create_directories(dir_);
  // From here on the old output (if any) is being replaced: without an index it reads as unfinished.
  std::error_code ec;
  std::filesystem::remove(dir_ + "/index.json", ec);
  buf_.reserve(1 << 22);
}

ShardWriter::~ShardWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    if (!keep_partial_) ::unlink(tmp_path_.c_str());
  }
}

std::string ShardWriter::partial_path() const {
  return dir_ + "/" + shard_file_name(static_cast<int64_t>(shards_.size()), "bin") + ".partial";
}

void ShardWriter::open_shard() {
  tmp_path_ = partial_path();
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot create '" + tmp_path_ + "': " + std::strerror(errno));
  shard_tok_ = 0;
  shard_docs_ = 0;
  checksum_.reset();  // the checksum of the shard's bytes
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
  unsynced_ += buf_.size();
  checksum_.update(buf_.data(), buf_.size());
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
  if (bos_id_ >= 0) put(bos_id_);
  for (int32_t id : ids_T) put(id);
  put(eos_id_);
  const uint64_t n = ids_T.size() + 1 + (bos_id_ >= 0 ? 1 : 0);
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
  unsynced_ = 0;
  const int64_t index = static_cast<int64_t>(shards_.size());
  const std::string bin = shard_file_name(index, "bin"), hdr = shard_file_name(index, "json");
  const std::string final_path = dir_ + "/" + bin;
  if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0)
    throw std::runtime_error("cannot rename '" + tmp_path_ + "': " + std::strerror(errno));
  created_.push_back(final_path);
  const uint64_t bytes = shard_tok_ * dtype_bytes(dtype_);
  nlohmann::json header = {
      {"format", "hld-token-shard"},
      {"version", kShardFormatVersion},
      {"split", split_},
      {"file", bin},
      {"dtype", dtype_name(dtype_)},
      {"tokens", shard_tok_},
      {"documents", shard_docs_},
      {"bytes", bytes},
      {"checksum", checksum_.digest().str()},
      {"tokenizer_hash", tokenizer_hash_},
      {"vocab_size", vocab_size_},
      {"eos_id", eos_id_},
      {"sources", shard_sources_},
  };
  header.update(bos_layout_json(bos_id_));
  if (reader_stats_) header["reader_stats_at_close"] = reader_stats_();
  util::write_file_atomic(dir_ + "/" + hdr, header.dump(2) + "\n");
  created_.push_back(dir_ + "/" + hdr);
  shards_.push_back({{"file", bin},
                     {"header", hdr},
                     {"tokens", shard_tok_},
                     {"documents", shard_docs_},
                     {"bytes", bytes},
                     {"checksum", checksum_.digest().str()}});
}

nlohmann::json ShardWriter::finish(const nlohmann::json& extra) {
  if (finished_) throw std::logic_error("ShardWriter::finish called twice");
  if (fd_ >= 0) close_shard();
  finished_ = true;
  nlohmann::json index = {
      {"format", "hld-token-shards"},
      {"version", kShardFormatVersion},
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
  index.update(bos_layout_json(bos_id_));
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) index[it.key()] = it.value();
  util::write_file_atomic(dir_ + "/index.json", index.dump(2) + "\n");
  // Shards of an earlier, longer run are no longer listed: remove them, and what killed runs left
  // behind (partial shards, temporary files of atomic writes); only our own file names.
  std::set<std::string> keep;
  for (const auto& s : shards_) {
    keep.insert(s["file"].get<std::string>());
    keep.insert(s["header"].get<std::string>());
  }
  static const std::regex ours(R"(shard_\d{5,}\.(bin|json))");
  static const std::regex leftover(R"((shard_\d{5,}\.bin\.partial|(shard_\d{5,}\.(bin|json)|index\.json)\.tmp\.\d+))");
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    if ((std::regex_match(name, ours) && !keep.count(name)) || std::regex_match(name, leftover))
      std::filesystem::remove(e.path());
  }
  return index;
}

void ShardWriter::abort() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
    fd_ = -1;
  }
  ::unlink(partial_path().c_str());
  for (const auto& p : created_) ::unlink(p.c_str());
  created_.clear();
  std::error_code ec;
  std::filesystem::remove(dir_, ec);  // only succeeds when empty
  finished_ = true;
}

nlohmann::json ShardWriter::checkpoint() {
  if (finished_) throw std::logic_error("ShardWriter::checkpoint after finish");
  keep_partial_ = true;
  nlohmann::json open = nullptr;
  if (fd_ >= 0) {
    flush();
    if (unsynced_ > 0 && ::fsync(fd_) != 0)
      throw std::runtime_error("cannot write '" + tmp_path_ + "': " + std::strerror(errno));
    unsynced_ = 0;
    open = {{"tokens", shard_tok_},
            {"documents", shard_docs_},
            {"bytes", shard_tok_ * dtype_bytes(dtype_)},
            {"checksum", checksum_.digest().str()},
            {"sources", shard_sources_}};
  }
  return {{"shards", shards_}, {"open", open}};
}

void ShardWriter::restore(const nlohmann::json& state) {
  if (finished_ || fd_ >= 0 || total_docs_ > 0 || !shards_.empty())
    throw std::logic_error("ShardWriter::restore on a writer already in use");
  const std::string what = "resume state of " + dir_;
  HLD_INPUT_CHECK(state.is_object() && state.contains("shards") && state["shards"].is_array() && state.contains("open"),
                  what + ": not an object with 'shards' and 'open'");
  const size_t width = dtype_bytes(dtype_);
  const uint64_t max_tokens = uint64_t{1} << 40;
  const auto& list = state["shards"];
  nlohmann::json shards = nlohmann::json::array();
  std::vector<std::string> files;
  uint64_t tokens = 0;
  int64_t docs = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& e = list[i];
    const std::string bin = shard_file_name(static_cast<int64_t>(i), "bin");
    const std::string hdr = shard_file_name(static_cast<int64_t>(i), "json");
    const std::string where = what + ", " + bin;
    HLD_INPUT_CHECK(e.is_object() && e.value("file", "") == bin && e.value("header", "") == hdr,
                    where + ": file names do not match the shard's position");
    const uint64_t t = u64_field(e, "tokens", max_tokens, where);
    const uint64_t d = u64_field(e, "documents", t, where);
    HLD_INPUT_CHECK(d > 0 && u64_field(e, "bytes", max_tokens * width, where) == t * width,
                    where + ": inconsistent token, document and byte counts");
    HLD_INPUT_CHECK(e.contains("checksum") && e["checksum"].is_string(), where + ": no checksum");
    const std::string sum = e["checksum"].get<std::string>();
    check_digest_algo(sum, where);
    HLD_INPUT_CHECK(file_size(dir_ + "/" + bin) == t * width, where + ": file size differs from the record");
    const TokenScan scan = scan_tokens(dir_ + "/" + bin, t * width, width, eos_id_);
    HLD_INPUT_CHECK(scan.checksum.digest().str() == sum && scan.eos == static_cast<int64_t>(d) && scan.ends_with_eos,
                    where + ": data differs from the record (checksum or document count)");
    const std::string hpath = dir_ + "/" + hdr;
    HLD_INPUT_CHECK(file_size(hpath) > 0 && file_size(hpath) < (16u << 20), where + ": header missing");
    const auto h = nlohmann::json::parse(util::read_file(hpath), nullptr, false);
    HLD_INPUT_CHECK(h.is_object() && h.value("format", "") == "hld-token-shard" &&
                        h.value("version", nlohmann::json()) == kShardFormatVersion && h.value("split", "") == split_ &&
                        h.value("file", "") == bin && h.value("dtype", "") == dtype_name(dtype_) &&
                        h.value("tokens", nlohmann::json()) == t && h.value("documents", nlohmann::json()) == d &&
                        h.value("checksum", "") == sum && h.value("tokenizer_hash", "") == tokenizer_hash_ &&
                        h.value("vocab_size", nlohmann::json()) == vocab_size_ &&
                        h.value("eos_id", nlohmann::json()) == eos_id_ && h.value("bos", false) == (bos_id_ >= 0) &&
                        (bos_id_ < 0 || h.value("bos_id", -1) == bos_id_),
                    where + ": header '" + hdr + "' differs from the record");
    shards.push_back(
        {{"file", bin}, {"header", hdr}, {"tokens", t}, {"documents", d}, {"bytes", t * width}, {"checksum", sum}});
    files.push_back(dir_ + "/" + bin);
    files.push_back(hpath);
    tokens += t;
    docs += static_cast<int64_t>(d);
  }
  shards_ = std::move(shards);  // partial_path() now names the open shard's file
  const auto& open = state["open"];
  uint64_t t = 0;
  util::Checksum sum;
  int64_t d = 0;
  std::vector<std::string> sources;
  if (!open.is_null()) {
    const std::string where = what + ", open shard";
    t = u64_field(open, "tokens", static_cast<uint64_t>(shard_tokens_) - 1, where);
    d = static_cast<int64_t>(u64_field(open, "documents", t, where));
    HLD_INPUT_CHECK(d > 0 && u64_field(open, "bytes", max_tokens * width, where) == t * width,
                    where + ": inconsistent token, document and byte counts");
    HLD_INPUT_CHECK(open.contains("checksum") && open["checksum"].is_string() && open.contains("sources") &&
                        open["sources"].is_array() && !open["sources"].empty() &&
                        open["sources"].size() <= static_cast<size_t>(d),
                    where + ": no checksum or sources");
    check_digest_algo(open["checksum"].get<std::string>(), where);
    for (const auto& s : open["sources"]) {
      HLD_INPUT_CHECK(s.is_string(), where + ": sources must be strings");
      sources.push_back(s.get<std::string>());
    }
    const std::string partial = partial_path();
    const std::string closed = dir_ + "/" + shard_file_name(num_shards(), "bin");
    if (::access(partial.c_str(), F_OK) != 0 && ::access(closed.c_str(), F_OK) == 0) {
      // The process died after this shard closed but before the next checkpoint: reopen it.
      HLD_INPUT_CHECK(::rename(closed.c_str(), partial.c_str()) == 0, where + ": cannot reopen '" + closed + "'");
      ::unlink((dir_ + "/" + shard_file_name(num_shards(), "json")).c_str());
    }
    HLD_INPUT_CHECK(file_size(partial) >= t * width, where + ": '" + partial + "' missing or shorter than recorded");
    HLD_INPUT_CHECK(::truncate(partial.c_str(), static_cast<off_t>(t * width)) == 0,
                    where + ": cannot truncate '" + partial + "': " + std::strerror(errno));
    TokenScan scan = scan_tokens(partial, t * width, width, eos_id_);
    HLD_INPUT_CHECK(
        scan.checksum.digest().str() == open["checksum"].get<std::string>() && scan.eos == d && scan.ends_with_eos,
        where + ": '" + partial + "' differs from the record (checksum or document count)");
    sum = std::move(scan.checksum);  // the open shard's checksum continues over the appended bytes
    fd_ = ::open(partial.c_str(), O_WRONLY | O_APPEND);
    if (fd_ < 0) throw std::runtime_error("cannot open '" + partial + "': " + std::strerror(errno));
    tmp_path_ = partial;
  }
  created_ = std::move(files);
  shard_tok_ = t;
  shard_docs_ = d;
  checksum_ = std::move(sum);
  shard_sources_ = std::move(sources);
  total_tokens_ = tokens + t;
  total_docs_ = docs + d;
  keep_partial_ = true;
}

}  // namespace hld::data
