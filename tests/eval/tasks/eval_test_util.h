// Helpers shared by the eval tests: fixture paths, temporary directories, writing small files.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "hld/config/model_config.h"
#include "hld/data/tokenizer.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::eval::testing {

/// A file under tests/data/eval (the task fixtures, in each dataset's original format).
inline std::string fixture(const std::string& name) { return std::string(HLD_SOURCE_DIR) + "/tests/data/eval/" + name; }

/// A fresh directory under the test temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "/hld_eval_XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

/// Runs `fn`, expects an InputError whose message contains every one of `parts`.
template <class Fn>
void expect_input_error(Fn fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an InputError";
  } catch (const hld::InputError& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

/// Trains a small SentencePiece unigram model (`vocab` pieces) on the fixture texts plus generated
/// sentences, into `dir`; returns the .model path. About 0.1 s.
inline std::string train_fixture_tokenizer(const std::string& dir, int64_t vocab) {
  std::string corpus;
  for (const char* f : {"hellaswag_val.jsonl", "piqa_valid.jsonl", "ARC-Easy-Test.jsonl", "winogrande_dev.jsonl",
                        "lambada_test.jsonl", "wiki.test.raw"})
    corpus += util::read_file(fixture(f)) + "\n\n";
  const char* words[] = {"the",   "river",    "boat",   "map",   "light", "stone",   "harbour", "song",   "tree",
                         "water", "question", "answer", "small", "town",  "quickly", "under",   "before", "after"};
  for (int i = 0; i < 400; ++i)
    corpus += std::string(words[i % 18]) + " " + words[(i * 7) % 18] + " " + words[(i * 5 + 3) % 18] + ".\n\n";
  write_file(dir + "/corpus.txt", corpus);
  data::TokenizerTrainOptions o;
  o.inputs = {dir + "/corpus.txt"};
  o.out_prefix = dir + "/tok";
  o.vocab_size = vocab;
  o.num_threads = 1;
  return data::train_tokenizer(o).model_path;
}

/// A two-block model of width 16 (sliding window 4, every other block global) for scoring tests.
inline config::ModelConfig tiny_eval_model(int64_t vocab) {
  config::ModelConfig c;
  c.name = "tiny-eval";
  c.vocab_size = vocab;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_layers = 2;
  c.num_heads = 2;
  c.num_kv_heads = 1;
  c.head_dim = 8;
  c.query_pre_attn_scalar = 8;
  c.sliding_window = 4;
  c.sliding_window_pattern = 2;
  return c;
}

}  // namespace hld::eval::testing
