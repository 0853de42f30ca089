// Tokenizer training: streams the corpus once, keeps a reservoir sample of documents (seeded),
// cuts them into sentences SentencePiece accepts (<= max_sentence_bytes, at newlines or spaces),
// trains a unigram model in memory and writes <prefix>.model / .vocab / .json atomically.
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>
#include <unordered_map>

#include "hld/data/spm_lib.h"
#include "hld/data/tokenizer.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::data {
namespace {

/// Length of the next sentence of `doc` starting at `pos`: up to `max` bytes, preferring to end
/// after a newline, then after a space, never inside a UTF-8 sequence.
size_t next_cut(const std::string& doc, size_t pos, size_t max) {
  const size_t rest = doc.size() - pos;
  if (rest <= max) return rest;
  const size_t nl = doc.rfind('\n', pos + max - 1);
  if (nl != std::string::npos && nl >= pos + max / 2) return nl + 1 - pos;
  const size_t sp = doc.rfind(' ', pos + max - 1);
  if (sp != std::string::npos && sp >= pos + max / 2) return sp + 1 - pos;
  size_t len = max;
  while (len > 1 && (static_cast<unsigned char>(doc[pos + len]) & 0xC0) == 0x80) --len;
  return len;
}

/// Feeds the sampled documents to SentencePiece one sentence at a time, without copying them all.
class SampleIterator {
 public:
  SampleIterator(const std::vector<std::string>& docs, size_t max) : docs_(docs), max_(max) {}
  int64_t count() const { return count_; }
  /// The shim's hld_spm_next_fn: the next sentence, or 0 when the sample is exhausted.
  static int next(void* ctx, const char** data, size_t* len) {
    auto* self = static_cast<SampleIterator*>(ctx);
    if (!self->advance()) return 0;
    *data = self->value_.data();
    *len = self->value_.size();
    return 1;
  }

 private:
  bool advance() {
    while (doc_ < docs_.size()) {
      const std::string& d = docs_[doc_];
      if (pos_ >= d.size()) {
        ++doc_;
        pos_ = 0;
        continue;
      }
      const size_t len = next_cut(d, pos_, max_);
      value_.assign(d, pos_, len);
      pos_ += len;
      // A trailing newline is a separator, not content SentencePiece should learn at sentence ends.
      while (!value_.empty() && (value_.back() == '\n' || value_.back() == '\r')) value_.pop_back();
      if (value_.empty()) continue;
      ++count_;
      return true;
    }
    return false;
  }
  const std::vector<std::string>& docs_;
  size_t max_;
  size_t doc_ = 0, pos_ = 0;
  std::string value_;
  int64_t count_ = 0;
};

void check_options(const TokenizerTrainOptions& o) {
  HLD_INPUT_CHECK(!o.inputs.empty(), "tokenizer train: no --input files given");
  HLD_INPUT_CHECK(!o.out_prefix.empty(), "tokenizer train: --out PREFIX is required");
  HLD_INPUT_CHECK(o.vocab_size >= 260 && o.vocab_size <= (int64_t{1} << 31) - 1,
                  "tokenizer train: --vocab-size must be at least 260 (4 special ids + 256 byte "
                  "pieces), got " +
                      std::to_string(o.vocab_size));
  HLD_INPUT_CHECK(
      o.character_coverage > 0 && o.character_coverage <= 1,
      "tokenizer train: --character-coverage must be in (0, 1], got " + std::to_string(o.character_coverage));
  HLD_INPUT_CHECK(o.sample_docs >= 0, "tokenizer train: --sample-docs must be >= 0");
  HLD_INPUT_CHECK(o.max_sentence_bytes >= 64, "tokenizer train: max sentence bytes must be >= 64");
  HLD_INPUT_CHECK(o.score_bits <= 20, "tokenizer train: --score-bits must be at most 20 (negative: off), got " +
                                          std::to_string(o.score_bits));
}

}  // namespace

TokenizerTrainResult train_tokenizer(const TokenizerTrainOptions& opts) {
  check_options(opts);
  const auto t0 = std::chrono::steady_clock::now();
  TokenizerTrainResult res;

  // 1. One pass over the corpus: reservoir sample of documents (all of them when sample_docs = 0).
  CorpusReader reader(opts.inputs, opts.reader);
  std::vector<std::string> sample;
  std::mt19937_64 rng(opts.seed);
  const auto cap = static_cast<uint64_t>(opts.sample_docs);
  Document doc;
  uint64_t seen = 0;
  while (reader.next(doc)) {
    if (cap == 0 || seen < cap) {
      sample.push_back(std::move(doc.text));
    } else {
      const uint64_t j = rng() % (seen + 1);
      if (j < cap) sample[j] = std::move(doc.text);
    }
    ++seen;
  }
  res.documents_seen = static_cast<int64_t>(seen);
  res.documents_sampled = static_cast<int64_t>(sample.size());
  res.reader = reader.stats();
  HLD_INPUT_CHECK(!sample.empty(), "tokenizer train: the inputs contain no usable document");
  spdlog::info("tokenizer: sampled {} of {} documents ({} skipped lines); training a {}-piece unigram model",
               res.documents_sampled, res.documents_seen, res.reader.skipped(), opts.vocab_size);

  // 2. Train in memory. Gemma conventions: pad 0, eos 1, bos 2, unk 3; byte fallback; split digits;
  // identity normalisation and no dummy prefix / whitespace folding so decoding is lossless.
  const int threads =
      opts.num_threads > 0 ? opts.num_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::vector<std::pair<std::string, std::string>> args = {
      {"model_type", "unigram"},
      {"vocab_size", std::to_string(opts.vocab_size)},
      {"character_coverage", std::to_string(opts.character_coverage)},
      {"pad_id", "0"},
      {"eos_id", "1"},
      {"bos_id", "2"},
      {"unk_id", "3"},
      {"pad_piece", "<pad>"},
      {"eos_piece", "</s>"},
      {"bos_piece", "<s>"},
      {"unk_piece", "<unk>"},
      {"byte_fallback", "true"},
      {"split_digits", "true"},
      {"allow_whitespace_only_pieces", "true"},
      {"normalization_rule_name", "identity"},
      {"add_dummy_prefix", "false"},
      {"remove_extra_whitespaces", "false"},
      {"max_sentence_length", std::to_string(opts.max_sentence_bytes)},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"num_threads", std::to_string(threads)},
  };
  std::string arg_lines;
  for (const auto& [k, v] : args) arg_lines += k + "=" + v + "\n";
  SampleIterator it(sample, static_cast<size_t>(opts.max_sentence_bytes));
  std::string model, err;
  auto append = [](void* ctx, const char* d, size_t n) { static_cast<std::string*>(ctx)->append(d, n); };
  const int rc =
      spm::api().train(arg_lines.c_str(), &SampleIterator::next, &it, static_cast<unsigned>(opts.seed & 0xffffffffu),
                       opts.verbose ? 0 : 1, append, &model, append, &err);
  HLD_INPUT_CHECK(rc == 0, "tokenizer train: SentencePiece failed: " + err);
  res.sentences = it.count();
  if (opts.score_bits >= 0) model = snap_piece_scores(model, opts.score_bits);  // one segmentation for every client
  sample.clear();
  sample.shrink_to_fit();

  // 3. Write the model (atomically), a readable vocabulary and the training metadata.
  const auto parent = std::filesystem::path(opts.out_prefix).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  res.model_path = opts.out_prefix + ".model";
  util::write_file_atomic(res.model_path, model);
  const Tokenizer sp(res.model_path);
  std::string vocab;
  for (int i = 0; i < sp.vocab_size(); ++i) vocab += sp.id_to_piece(i) + "\t" + std::to_string(sp.score(i)) + "\n";
  util::write_file_atomic(opts.out_prefix + ".vocab", vocab);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json meta = {
      {"model", res.model_path},
      {"hash", util::hex64(util::fnv1a64(model))},
      {"vocab_size", sp.vocab_size()},
      {"model_type", "unigram"},
      {"character_coverage", opts.character_coverage},
      {"sample_docs", opts.sample_docs},
      {"seed", opts.seed},
      {"score_bits", opts.score_bits},
      {"inputs", opts.inputs},
      {"text_field", opts.reader.text_field},
      {"documents_seen", res.documents_seen},
      {"documents_sampled", res.documents_sampled},
      {"sentences", res.sentences},
      {"reader", res.reader.to_json()},
      {"seconds", secs},
  };
  util::write_file_atomic(opts.out_prefix + ".json", meta.dump(2) + "\n");
  spdlog::info("tokenizer: wrote {} ({} pieces, {} sentences, {:.1f} s)", res.model_path, sp.vocab_size(),
               res.sentences, secs);
  return res;
}

}  // namespace hld::data
