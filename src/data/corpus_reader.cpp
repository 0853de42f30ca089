// Streaming corpus readers: gzip or plain JSON lines (C4) and blank-line-separated text files.
// Every file goes through zlib's gzread, which reads uncompressed files transparently; a gzip
// stream that ends early (Z_BUF_ERROR at EOF) or is corrupt (Z_DATA_ERROR) is detected.
#include "hld/data/corpus_reader.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cstring>

#include "hld/util/error.h"

namespace hld::data {

// ---- ReaderStats ------------------------------------------------------------------------------

ReaderStats& ReaderStats::operator+=(const ReaderStats& o) {
  files += o.files;
  lines += o.lines;
  documents += o.documents;
  malformed += o.malformed;
  invalid_utf8 += o.invalid_utf8;
  empty += o.empty;
  truncated_gz += o.truncated_gz;
  bytes += o.bytes;
  return *this;
}

ReaderStats ReaderStats::operator-(const ReaderStats& o) const {
  ReaderStats r = *this;
  r.files -= o.files;
  r.lines -= o.lines;
  r.documents -= o.documents;
  r.malformed -= o.malformed;
  r.invalid_utf8 -= o.invalid_utf8;
  r.empty -= o.empty;
  r.truncated_gz -= o.truncated_gz;
  r.bytes -= o.bytes;
  return r;
}

nlohmann::json ReaderStats::to_json() const {
  return {{"files", files},
          {"lines", lines},
          {"documents", documents},
          {"malformed", malformed},
          {"invalid_utf8", invalid_utf8},
          {"empty", empty},
          {"truncated_gz", truncated_gz},
          {"bytes", bytes}};
}

// ---- UTF-8 ------------------------------------------------------------------------------------

bool is_valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

namespace {

bool only_whitespace(const std::string& s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return false;
  return true;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// True for a `.txt` corpus, false for JSON lines; InputError for an unsupported name.
bool is_text_name(const std::string& path) {
  std::string base = ends_with(path, ".gz") ? path.substr(0, path.size() - 3) : path;
  if (ends_with(base, ".txt")) return true;
  if (ends_with(base, ".json") || ends_with(base, ".jsonl")) return false;
  throw InputError("input file '" + path + "': unsupported name (expected .json, .jsonl or .txt, optionally with .gz)");
}

}  // namespace

// ---- LineSource: lines of one (possibly gzip) file -----------------------------------------

class CorpusReader::LineSource {
 public:
  explicit LineSource(const std::string& path) : path_(path), buf_(1 << 18) {
    gz_ = gzopen(path.c_str(), "rb");
    HLD_INPUT_CHECK(gz_ != nullptr, "cannot open input file '" + path + "': " + std::strerror(errno));
    gzbuffer(gz_, 1 << 18);
  }
  ~LineSource() {
    if (gz_) gzclose(gz_);
  }

  /// Next line without its '\n'. `too_long` is set when it exceeded `max` bytes (its content is
  /// then incomplete). False at the end of the stream; an incomplete last line of a damaged stream
  /// is dropped (see damaged()).
  bool getline(std::string& line, bool& too_long, int64_t max) {
    line.clear();
    too_long = false;
    bool any = false;
    for (;;) {
      if (pos_ == len_ && !fill()) {
        if (damaged_ || !any) return false;
        ++line_no_;
        return true;  // last line without a trailing newline
      }
      any = true;
      const char* start = buf_.data() + pos_;
      const size_t avail = len_ - pos_;
      const void* nl = std::memchr(start, '\n', avail);
      const size_t seg = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) : avail;
      if (!too_long) {
        if (static_cast<int64_t>(line.size() + seg) > max) {
          too_long = true;
          line.clear();
        } else {
          line.append(start, seg);
        }
      }
      pos_ += nl ? seg + 1 : seg;
      if (nl) {
        ++line_no_;
        return true;
      }
    }
  }

  bool damaged() const { return damaged_; }
  const std::string& damage() const { return damage_; }
  int64_t line_no() const { return line_no_; }
  uint64_t offset() const {
    const z_off_t o = gzoffset(gz_);
    return o > 0 ? static_cast<uint64_t>(o) : 0;
  }

 private:
  bool fill() {
    if (eof_) return false;
    const int n = gzread(gz_, buf_.data(), static_cast<unsigned>(buf_.size()));
    if (n > 0) {
      pos_ = 0;
      len_ = static_cast<size_t>(n);
      return true;
    }
    eof_ = true;
    pos_ = len_ = 0;
    int err = Z_OK;
    const char* msg = gzerror(gz_, &err);
    if (n < 0 || err != Z_OK) {
      damaged_ = true;
      damage_ = err == Z_BUF_ERROR ? "truncated gzip stream (unexpected end of file)"
                                   : std::string("corrupt gzip stream (") + (msg ? msg : "unknown") + ")";
    }
    return false;
  }

  std::string path_;
  gzFile gz_ = nullptr;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  bool eof_ = false, damaged_ = false;
  std::string damage_;
  int64_t line_no_ = 0;
};

// ---- CorpusReader -----------------------------------------------------------------------------

CorpusReader::CorpusReader(std::vector<std::string> files, ReaderOptions opts)
    : files_(std::move(files)), opts_(std::move(opts)) {
  HLD_INPUT_CHECK(!files_.empty(), "no input files given");
  HLD_INPUT_CHECK(opts_.max_line_bytes > 0, "max_line_bytes must be positive");
  for (const auto& f : files_) {
    struct stat st {};
    HLD_INPUT_CHECK(::stat(f.c_str(), &st) == 0, "input file '" + f + "' does not exist");
    HLD_INPUT_CHECK(S_ISREG(st.st_mode), "input file '" + f + "' is not a regular file");
    is_text_name(f);
    total_bytes_ += static_cast<uint64_t>(st.st_size);
  }
}

CorpusReader::~CorpusReader() = default;

uint64_t CorpusReader::consumed_bytes() const { return finished_bytes_ + (src_ ? src_->offset() : 0); }

bool CorpusReader::open_next_file() {
  if (src_) {
    struct stat st {};
    if (::stat(files_[file_index_ - 1].c_str(), &st) == 0) finished_bytes_ += static_cast<uint64_t>(st.st_size);
    src_.reset();
  }
  if (file_index_ >= files_.size()) return false;
  const std::string& f = files_[file_index_++];
  current_is_text_ = is_text_name(f);
  src_ = std::make_unique<LineSource>(f);
  ++stats_.files;
  return true;
}

void CorpusReader::reject(int64_t& counter, const std::string& what, int64_t line) {
  ++counter;
  const std::string where = files_[file_index_ - 1] + ":" + std::to_string(line);
  if (opts_.strict) throw InputError(where + ": " + what + " (strict mode)");
  if (stats_.skipped() <= 5) spdlog::warn("{}: {}; skipped", where, what);
}

bool CorpusReader::next(Document& doc) {
  for (;;) {
    if (!src_ && !open_next_file()) return false;
    const bool got = current_is_text_ ? next_text(doc) : next_json(doc);
    if (got) {
      ++stats_.documents;
      stats_.bytes += static_cast<int64_t>(doc.text.size());
      return true;
    }
    if (src_->damaged()) {
      const std::string where = files_[file_index_ - 1] + " after line " + std::to_string(src_->line_no());
      if (!opts_.allow_truncated_gz)
        throw InputError(where + ": " + src_->damage() +
                         "; re-download the file (or pass --allow-truncated to keep its complete lines)");
      ++stats_.truncated_gz;
      spdlog::warn("{}: {}; keeping the {} complete lines before it", where, src_->damage(), src_->line_no());
    }
    if (!open_next_file()) return false;
  }
}

bool CorpusReader::next_json(Document& doc) {
  std::string line;
  bool too_long = false;
  while (src_->getline(line, too_long, opts_.max_line_bytes)) {
    ++stats_.lines;
    const int64_t ln = src_->line_no();
    if (too_long) {
      reject(stats_.malformed, "line longer than " + std::to_string(opts_.max_line_bytes) + " bytes", ln);
      continue;
    }
    if (only_whitespace(line)) continue;  // blank lines between records are not documents
    if (!is_valid_utf8(line)) {
      reject(stats_.invalid_utf8, "invalid UTF-8", ln);
      continue;
    }
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      reject(stats_.malformed, "malformed JSON", ln);
      continue;
    }
    if (!j.is_object()) {
      reject(stats_.malformed, "JSON line is not an object", ln);
      continue;
    }
    auto it = j.find(opts_.text_field);
    if (it == j.end() || !it->is_string()) {
      reject(stats_.malformed, "no string field '" + opts_.text_field + "'", ln);
      continue;
    }
    std::string text = it->get<std::string>();
    if (only_whitespace(text)) {
      reject(stats_.empty, "empty text", ln);
      continue;
    }
    doc.text = std::move(text);
    doc.source = files_[file_index_ - 1];
    doc.line = ln;
    return true;
  }
  return false;
}

bool CorpusReader::next_text(Document& doc) {
  std::string line, text;
  bool too_long = false, doc_too_long = false;
  int64_t start = 0;
  auto finish = [&]() -> bool {
    if (start == 0) return false;
    const int64_t at = start;
    start = 0;
    if (doc_too_long) {
      doc_too_long = false;
      text.clear();
      reject(stats_.malformed, "document longer than " + std::to_string(opts_.max_line_bytes) + " bytes", at);
      return false;
    }
    if (!is_valid_utf8(text)) {
      text.clear();
      reject(stats_.invalid_utf8, "invalid UTF-8", at);
      return false;
    }
    doc.text = std::move(text);
    doc.source = files_[file_index_ - 1];
    doc.line = at;
    text.clear();
    return true;
  };
  while (src_->getline(line, too_long, opts_.max_line_bytes)) {
    ++stats_.lines;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (only_whitespace(line)) {
      if (finish()) return true;
      continue;
    }
    if (start == 0) start = src_->line_no();
    if (doc_too_long || too_long || static_cast<int64_t>(text.size() + line.size() + 1) > opts_.max_line_bytes) {
      doc_too_long = true;
      continue;
    }
    if (!text.empty()) text.push_back('\n');
    text += line;
  }
  // A damaged stream's last paragraph may be cut short: drop it.
  if (src_->damaged()) return false;
  return finish();
}

std::vector<std::string> read_all_documents(const std::vector<std::string>& files, const ReaderOptions& opts) {
  CorpusReader r(files, opts);
  std::vector<std::string> out;
  Document d;
  while (r.next(d)) out.push_back(std::move(d.text));
  return out;
}

}  // namespace hld::data
