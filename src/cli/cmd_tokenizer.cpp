// `hld-train tokenizer train|encode|decode`: trains a SentencePiece unigram model from a streamed
// sample of a corpus, and encodes / decodes text for checking a model by hand.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>

#include "hld/cli/common.h"
#include "hld/data/tokenizer.h"
#include "hld/util/error.h"

namespace hld::cli {
namespace {

struct TokenizerArgs {
  data::TokenizerTrainOptions train;
  std::string model, text;
  bool pieces = false;
  std::vector<int64_t> ids;
};

int run_train(const TokenizerArgs& a) {
  const auto r = data::train_tokenizer(a.train);
  std::printf(
      "wrote %s (%lld pieces) from %lld of %lld documents; skipped %lld malformed, %lld invalid UTF-8, "
      "%lld empty lines\n",
      r.model_path.c_str(), static_cast<long long>(a.train.vocab_size), static_cast<long long>(r.documents_sampled),
      static_cast<long long>(r.documents_seen), static_cast<long long>(r.reader.malformed),
      static_cast<long long>(r.reader.invalid_utf8), static_cast<long long>(r.reader.empty));
  return kExitOk;
}

int run_encode(const TokenizerArgs& a) {
  data::Tokenizer tok(a.model);
  std::string text = a.text;
  if (text.empty()) text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  const auto ids = tok.encode(text);
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ' ';
    out += a.pieces ? tok.id_to_piece(ids[i]) : std::to_string(ids[i]);
  }
  std::printf("%s\n", out.c_str());
  return kExitOk;
}

int run_decode(const TokenizerArgs& a) {
  data::Tokenizer tok(a.model);
  std::vector<int32_t> ids;
  for (int64_t v : a.ids) {
    HLD_INPUT_CHECK(v >= 0 && v < tok.vocab_size(), "token id " + std::to_string(v) +
                                                        " is outside the vocabulary [0, " +
                                                        std::to_string(tok.vocab_size()) + ") of '" + a.model + "'");
    ids.push_back(static_cast<int32_t>(v));
  }
  std::printf("%s\n", tok.decode(ids).c_str());
  return kExitOk;
}

}  // namespace

void register_tokenizer(CLI::App& app, Action& action) {
  auto args = std::make_shared<TokenizerArgs>();
  auto* sub = app.add_subcommand("tokenizer", "train, encode and decode a SentencePiece tokenizer");
  sub->require_subcommand(1);

  auto* train = sub->add_subcommand("train", "train a unigram model (ids: pad 0, eos 1, bos 2, unk 3; byte fallback)");
  auto& t = args->train;
  train->add_option("--input", t.inputs, "corpus files: .json.gz (C4), .jsonl, .txt, each optionally .gz")
      ->required()
      ->expected(1, -1);
  train->add_option("--out", t.out_prefix, "output prefix: writes PREFIX.model, PREFIX.vocab, PREFIX.json")->required();
  train->add_option("--vocab-size", t.vocab_size, "vocabulary size (paper: 32000)")->capture_default_str();
  train->add_option("--sample-docs", t.sample_docs, "documents reservoir-sampled for training (0: all)")
      ->capture_default_str();
  train->add_option("--character-coverage", t.character_coverage, "share of characters covered by pieces")
      ->capture_default_str();
  train->add_option("--seed", t.seed, "sampling seed")->capture_default_str();
  train->add_option("--text-field", t.reader.text_field, "JSON field holding the text")->capture_default_str();
  train->add_flag("--strict", t.reader.strict, "bad lines are errors (exit 2) instead of being skipped");
  train->add_flag("--allow-truncated", t.reader.allow_truncated_gz, "keep the complete lines of a truncated .gz");
  train->add_option("--threads", t.num_threads, "trainer threads (0: all cores)")->capture_default_str();
  train
      ->add_option("--score-bits", t.score_bits,
                   "round piece scores to multiples of 2^-BITS, so that SentencePiece and Hugging Face "
                   "tokenizers segment every text alike (negative: keep SentencePiece's float scores)")
      ->capture_default_str();
  train->add_flag("--verbose", t.verbose, "show SentencePiece's own training log");
  train->callback([&action, args] { action = [args] { return run_train(*args); }; });

  auto* enc = sub->add_subcommand("encode", "print the token ids of TEXT (or of standard input)");
  enc->add_option("--model", args->model, "SentencePiece .model")->required();
  enc->add_option("TEXT", args->text, "text to encode (default: read standard input)");
  enc->add_flag("--pieces", args->pieces, "print pieces instead of ids");
  enc->callback([&action, args] { action = [args] { return run_encode(*args); }; });

  auto* dec = sub->add_subcommand("decode", "print the text of token IDS");
  dec->add_option("--model", args->model, "SentencePiece .model")->required();
  dec->add_option("IDS", args->ids, "token ids")->required();
  dec->callback([&action, args] { action = [args] { return run_decode(*args); }; });
}

}  // namespace hld::cli
