// Streaming readers for raw text corpora: C4's `c4-train.XXXXX-of-01024.json.gz` (JSON lines with
// `text`, `timestamp`, `url`), plain `.jsonl`/`.json` lines with a configurable text field, and
// `.txt` files; each optionally gzip-compressed (`.gz`). One document at a time, never a whole file
// in memory. Bad lines are counted and skipped (or, with `strict`, an InputError naming file:line).
//
// Formats by file name:
//   *.json, *.jsonl (+ .gz)  one JSON object per line; the document is the string `text_field`.
//   *.txt (+ .gz)            documents separated by one or more blank (whitespace-only) lines; the
//                            document is its lines joined by '\n' (a trailing '\r' is dropped).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hld::data {

struct ReaderOptions {
  std::string text_field = "text";    ///< JSON field holding the document (C4: "text")
  bool strict = false;                ///< malformed / invalid UTF-8 / empty → InputError, not skip
  bool allow_truncated_gz = false;    ///< keep the complete lines of a truncated .gz (counted)
  int64_t max_line_bytes = 64 << 20;  ///< longer lines are counted as malformed and skipped
};

/// Counters over everything read so far (all files).
struct ReaderStats {
  int64_t files = 0;         ///< files opened
  int64_t lines = 0;         ///< physical lines read
  int64_t documents = 0;     ///< documents returned
  int64_t malformed = 0;     ///< JSON lines that do not parse, lack the field or are too long
  int64_t invalid_utf8 = 0;  ///< lines (JSON) or documents (.txt) that are not valid UTF-8
  int64_t empty = 0;         ///< documents whose text is empty or only whitespace
  int64_t truncated_gz = 0;  ///< files whose gzip stream ended early (allow_truncated_gz only)
  int64_t bytes = 0;         ///< document bytes returned

  int64_t skipped() const { return malformed + invalid_utf8 + empty; }
  ReaderStats& operator+=(const ReaderStats& o);
  ReaderStats operator-(const ReaderStats& o) const;
  nlohmann::json to_json() const;
};

struct Document {
  std::string text;
  std::string source;  ///< file it came from
  int64_t line = 0;    ///< 1-based line where it starts
};

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(const std::string& s);

class CorpusReader {
 public:
  /// Checks every file exists and has a supported name before reading anything; InputError names
  /// the first that does not. Files are read in the given order.
  explicit CorpusReader(std::vector<std::string> files, ReaderOptions opts = {});
  ~CorpusReader();
  CorpusReader(const CorpusReader&) = delete;
  CorpusReader& operator=(const CorpusReader&) = delete;

  /// Reads the next document into `doc`; false when every file is exhausted.
  bool next(Document& doc);

  const ReaderStats& stats() const { return stats_; }
  const std::vector<std::string>& files() const { return files_; }
  /// Sum of the on-disk (compressed) sizes of all files: the denominator of progress and ETA.
  uint64_t total_bytes() const { return total_bytes_; }
  /// On-disk bytes consumed so far (finished files + offset in the current one).
  uint64_t consumed_bytes() const;

 private:
  class LineSource;
  bool open_next_file();
  bool next_json(Document& doc);
  bool next_text(Document& doc);
  void reject(int64_t& counter, const std::string& what, int64_t line);

  std::vector<std::string> files_;
  ReaderOptions opts_;
  ReaderStats stats_;
  uint64_t total_bytes_ = 0, finished_bytes_ = 0;
  size_t file_index_ = 0;
  bool current_is_text_ = false;
  std::unique_ptr<LineSource> src_;
};

/// Reads every document of `files` (for tests and small corpora).
std::vector<std::string> read_all_documents(const std::vector<std::string>& files, const ReaderOptions& opts = {});

}  // namespace hld::data
