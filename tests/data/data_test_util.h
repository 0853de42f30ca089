// Helpers shared by the data tests: temporary directories, gzip writing, a small slice of the
// embedded corpus and a small SentencePiece model trained on it.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hld/data/corpus_reader.h"
#include "hld/data/tokenizer.h"

namespace hld::data::testing {

/// A fresh directory under the test temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "/hld_data_XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_text(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

inline void write_gz(const std::string& path, const std::string& data) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, data.data(), static_cast<unsigned>(data.size())), static_cast<int>(data.size()));
  gzclose(f);
}

inline std::string embedded(const std::string& name) {
  return std::string(HLD_SOURCE_DIR) + "/third_party/corpus/" + name;
}

/// The first `n` documents of the embedded training corpus.
inline std::vector<std::string> corpus_docs(size_t n) {
  CorpusReader r({embedded("train.jsonl.gz")});
  std::vector<std::string> out;
  Document d;
  while (out.size() < n && r.next(d)) out.push_back(d.text);
  return out;
}

/// Writes `docs` as C4-style JSON lines (gzip when the name ends in .gz).
inline void write_c4(const std::string& path, const std::vector<std::string>& docs) {
  std::string s;
  for (size_t i = 0; i < docs.size(); ++i)
    s += nlohmann::json{{"text", docs[i]},
                        {"timestamp", "2019-04-25T12:57:54Z"},
                        {"url", "https://example.com/" + std::to_string(i)}}
             .dump() +
         "\n";
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0)
    write_gz(path, s);
  else
    write_text(path, s);
}

/// Trains a small unigram model (vocab 800) on `docs` into dir/tok.model and returns its path.
inline std::string train_small_tokenizer(const std::string& dir, const std::vector<std::string>& docs,
                                         int64_t vocab = 800) {
  write_c4(dir + "/tok_train.jsonl", docs);
  TokenizerTrainOptions o;
  o.inputs = {dir + "/tok_train.jsonl"};
  o.out_prefix = dir + "/tok";
  o.vocab_size = vocab;
  o.num_threads = 1;
  return train_tokenizer(o).model_path;
}

}  // namespace hld::data::testing
