// Teacher-cache reader: index, row lookup, chunk validation on first open, checked row reads.
#include "hld/teacher/cache_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "hld/teacher/cache_plan.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::teacher {

CacheReader::CacheReader(std::string dir) : dir_(std::move(dir)) {
  const std::string ip = (fs::path(dir_) / "index.json").string();
  HLD_INPUT_CHECK(fs::exists(ip), "teacher.cache '" + dir_ +
                                      "': no index.json (not a teacher cache; write one with "
                                      "`hld-train cache-teacher`)");
  ix_ = io::parse_cache_index(util::read_file(ip), ip);
  finished_.assign(static_cast<size_t>(ix_.num_chunks()), nullptr);
  for (const auto& c : ix_.chunks) finished_[static_cast<size_t>(c.index)] = &c;
}

CacheReader::~CacheReader() {
  for (auto& [c, ch] : open_)
    if (ch.fd >= 0) ::close(ch.fd);
}

void CacheReader::attach(const data::BatchStream& order) {
  HLD_INPUT_CHECK(order.num_sequences() == ix_.data_sequences && order.context() == ix_.context,
                  "teacher.cache '" + dir_ + "': written for a split of " + std::to_string(ix_.data_sequences) +
                      " sequences of " + std::to_string(ix_.context) + " tokens, the data has " +
                      std::to_string(order.num_sequences()) + " of " + std::to_string(order.context()));
  rows_ = selection_rows(ix_.selection, order);
  HLD_INPUT_CHECK(static_cast<int64_t>(rows_.size()) == ix_.rows, "teacher.cache '" + dir_ + "': row count mismatch");
  by_seq_.clear();
  if (ix_.selection.kind != "all") {
    by_seq_.reserve(rows_.size());
    for (size_t r = 0; r < rows_.size(); ++r) by_seq_.emplace_back(rows_[r], static_cast<int64_t>(r));
    std::sort(by_seq_.begin(), by_seq_.end());
  }
  attached_ = true;
}

int64_t CacheReader::row_of(int64_t seq_id) const {
  if (!attached_) throw std::logic_error("CacheReader::row_of before attach");
  if (ix_.selection.kind == "all") return seq_id >= 0 && seq_id < ix_.rows ? seq_id : -1;
  auto it = std::lower_bound(by_seq_.begin(), by_seq_.end(), std::make_pair(seq_id, int64_t{-1}));
  return it != by_seq_.end() && it->first == seq_id ? it->second : -1;
}

std::string CacheReader::chunk_path(int64_t c) const { return (fs::path(dir_) / io::chunk_file_name(c)).string(); }

void CacheReader::pread_exact(const OpenChunk& ch, int64_t c, uint64_t offset, std::string& out, uint64_t n) const {
  out.resize(n);
  uint64_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(ch.fd, out.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    HLD_INPUT_CHECK(r > 0, chunk_path(c) + ": cannot read " + std::to_string(n) + " bytes at offset " +
                               std::to_string(offset) +
                               (r < 0 ? std::string(": ") + std::strerror(errno) : ": truncated"));
    got += static_cast<uint64_t>(r);
  }
}

CacheReader::OpenChunk& CacheReader::open_chunk(int64_t c) {
  auto hit = open_.find(c);
  if (hit != open_.end()) {
    lru_.remove(c);
    lru_.push_front(c);
    return hit->second;
  }
  const std::string path = chunk_path(c);
  const io::CacheChunkEntry* e = c >= 0 && c < ix_.num_chunks() ? finished_[static_cast<size_t>(c)] : nullptr;
  HLD_INPUT_CHECK(e, "teacher.cache '" + dir_ + "': chunk " + std::to_string(c) + " was never finished (" +
                         std::to_string(ix_.chunks.size()) + " of " + std::to_string(ix_.num_chunks()) +
                         " chunks written); run `hld-train cache-teacher` again to complete it");
  OpenChunk ch;
  ch.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  HLD_INPUT_CHECK(ch.fd >= 0, path + ": cannot open: " + std::strerror(errno));
  try {
    struct stat st {};
    HLD_INPUT_CHECK(::fstat(ch.fd, &st) == 0, path + ": cannot stat");
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    HLD_INPUT_CHECK(size == e->bytes, path + ": " + std::to_string(size) + " bytes, index.json says " +
                                          std::to_string(e->bytes) + " (truncated or overwritten)");
    io::ChunkHeader want;
    want.cache_id = ix_.cache_id();
    want.chunk_index = static_cast<uint64_t>(c);
    want.first_row = static_cast<uint64_t>(ix_.chunk_first_row(c));
    want.num_rows = static_cast<uint64_t>(ix_.chunk_num_rows(c));
    want.context = static_cast<uint32_t>(ix_.context);
    want.logits_record_bytes = static_cast<uint32_t>(ix_.logits_record_bytes());
    want.hidden_record_bytes = static_cast<uint32_t>(ix_.hidden_record_bytes());
    want.version = static_cast<uint32_t>(ix_.version);
    ch.geo = io::chunk_geometry(want);
    HLD_INPUT_CHECK(size == ch.geo.file_bytes, path + ": " + std::to_string(size) + " bytes, the layout needs " +
                                                   std::to_string(ch.geo.file_bytes));
    std::string prefix;
    pread_exact(ch, c, 0, prefix, ch.geo.logits_offset);
    HLD_INPUT_CHECK(io::cache_checksum(prefix.data(), prefix.size(), ix_.version) == e->checksum,
                    path + ": header/row-table checksum does not match index.json (corrupt chunk)");
    const auto* p = reinterpret_cast<const uint8_t*>(prefix.data());
    const io::ChunkHeader h = io::parse_chunk_header(p, prefix.size(), path);
    HLD_INPUT_CHECK(h.cache_id == want.cache_id, path + ": belongs to another cache (cache id differs)");
    HLD_INPUT_CHECK(h.version == want.version, path + ": chunk format version " + std::to_string(h.version) +
                                                   ", index.json says " + std::to_string(want.version));
    HLD_INPUT_CHECK(h.chunk_index == want.chunk_index && h.first_row == want.first_row && h.num_rows == want.num_rows &&
                        h.context == want.context && h.logits_record_bytes == want.logits_record_bytes &&
                        h.hidden_record_bytes == want.hidden_record_bytes,
                    path + ": chunk header does not match index.json");
    ch.table = io::parse_row_table(p + io::kChunkHeaderBytes, prefix.size() - io::kChunkHeaderBytes, h.num_rows, path);
    if (attached_)
      for (uint64_t r = 0; r < h.num_rows; ++r)
        HLD_INPUT_CHECK(static_cast<int64_t>(ch.table[r].seq_id) == seq_of(static_cast<int64_t>(h.first_row + r)),
                        path + ": row " + std::to_string(h.first_row + r) + " holds sequence " +
                            std::to_string(ch.table[r].seq_id) + ", the selection says " +
                            std::to_string(seq_of(static_cast<int64_t>(h.first_row + r))));
  } catch (...) {
    ::close(ch.fd);
    throw;
  }
  if (open_.size() >= kMaxOpen) {
    const int64_t old = lru_.back();
    lru_.pop_back();
    ::close(open_[old].fd);
    open_.erase(old);
  }
  lru_.push_front(c);
  return open_.emplace(c, std::move(ch)).first->second;
}

const io::RowEntry& CacheReader::entry(int64_t row) {
  HLD_INPUT_CHECK(row >= 0 && row < ix_.rows,
                  "teacher.cache '" + dir_ + "': row " + std::to_string(row) + " out of range");
  const int64_t c = row / ix_.chunk_rows;
  return open_chunk(c).table[static_cast<size_t>(row - ix_.chunk_first_row(c))];
}

void CacheReader::read_raw(int64_t row, std::string* logits, std::string* hidden, bool verify) {
  HLD_INPUT_CHECK(row >= 0 && row < ix_.rows,
                  "teacher.cache '" + dir_ + "': row " + std::to_string(row) + " out of range");
  const int64_t c = row / ix_.chunk_rows;
  const OpenChunk& ch = open_chunk(c);
  const auto r = static_cast<uint64_t>(row - ix_.chunk_first_row(c));
  if (logits) pread_exact(ch, c, ch.geo.logits_at(r), *logits, ch.geo.row_logits_bytes);
  if (hidden) pread_exact(ch, c, ch.geo.hidden_at(r), *hidden, ch.geo.row_hidden_bytes);
  if (verify) check_raw(row, ch.table[r], logits, hidden);
}

void CacheReader::check_raw(int64_t row, const io::RowEntry& e, const std::string* logits,
                            const std::string* hidden) const {
  auto where = [&](const char* what) {
    return chunk_path(row / ix_.chunk_rows) + ": " + what + " of row " + std::to_string(row) + " (sequence " +
           std::to_string(e.seq_id) + ") fail their checksum (corrupt chunk)";
  };
  if (logits)
    HLD_INPUT_CHECK(io::cache_checksum(logits->data(), logits->size(), ix_.version) == e.logits_checksum,
                    where("the logits"));
  if (hidden)
    HLD_INPUT_CHECK(io::cache_checksum(hidden->data(), hidden->size(), ix_.version) == e.hidden_checksum,
                    where("the hidden states"));
}

void CacheReader::decode_logits_block(int64_t row, const std::string& raw, float* vals, int64_t* idx,
                                      float* logz_T) const {
  const auto& l = ix_.layout;
  const int64_t stride = ix_.logits_record_bytes();
  HLD_INPUT_CHECK(static_cast<int64_t>(raw.size()) == stride * ix_.context,
                  "teacher.cache '" + dir_ + "': logits block of row " + std::to_string(row) + " has the wrong size");
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  for (int64_t t = 0; t < ix_.context; ++t) {
    const uint8_t* rec = p + t * stride;
    HLD_INPUT_CHECK(io::decode_logits(l, rec, vals + t * l.top_k, idx + t * l.top_k),
                    "teacher.cache '" + dir_ + "': malformed logits record at row " + std::to_string(row) +
                        ", position " + std::to_string(t));
    if (logz_T && ix_.has_logz) {
      uint32_t bits = 0;
      for (int i = 0; i < 4; ++i) bits |= uint32_t{rec[l.logits_bytes() + i]} << (8 * i);
      float z;
      std::memcpy(&z, &bits, 4);
      HLD_INPUT_CHECK(std::isfinite(z), "teacher.cache '" + dir_ + "': non-finite log-sum-exp at row " +
                                            std::to_string(row) + ", position " + std::to_string(t));
      logz_T[t] = z;
    }
  }
}

void CacheReader::decode_hidden_block(int64_t row, const std::string& raw, float* h) const {
  const auto& l = ix_.layout;
  const int64_t layers = static_cast<int64_t>(ix_.layers.empty() ? 1 : ix_.layers.size());
  HLD_INPUT_CHECK(static_cast<int64_t>(raw.size()) == ix_.hidden_record_bytes() * ix_.context,
                  "teacher.cache '" + dir_ + "': hidden block of row " + std::to_string(row) + " has the wrong size");
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  for (int64_t t = 0; t < ix_.context; ++t)
    for (int64_t j = 0; j < layers; ++j)
      HLD_INPUT_CHECK(io::decode_hidden(l, p + (t * layers + j) * l.hidden_bytes, h + (t * layers + j) * l.hidden_size),
                      "teacher.cache '" + dir_ + "': malformed hidden record at row " + std::to_string(row) +
                          ", position " + std::to_string(t) + ", layer " + std::to_string(ix_.layers.at(j)));
}

void CacheReader::verify_chunk(int64_t c) {
  auto it = open_.find(c);
  if (it != open_.end()) {  // re-validate from scratch
    ::close(it->second.fd);
    open_.erase(it);
    lru_.remove(c);
  }
  open_chunk(c);
  const int64_t first = ix_.chunk_first_row(c), n = ix_.chunk_num_rows(c);
  const auto& l = ix_.layout;
  std::string lg, hd;
  std::vector<float> vals(static_cast<size_t>(ix_.context * l.top_k)), logz(static_cast<size_t>(ix_.context)),
      h(static_cast<size_t>(ix_.context * l.hidden_size *
                            static_cast<int64_t>(std::max<size_t>(1, ix_.layers.size()))));
  std::vector<int64_t> idx(vals.size());
  for (int64_t r = first; r < first + n; ++r) {
    read_raw(r, &lg, &hd);
    decode_logits_block(r, lg, vals.data(), idx.data(), logz.data());
    decode_hidden_block(r, hd, h.data());
  }
}

}  // namespace hld::teacher
