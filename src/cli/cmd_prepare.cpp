// `hld-train prepare`: raw text (C4 .json.gz, .jsonl, .txt) -> token shards in OUT/train and
// OUT/valid, split by document hash (--valid-fraction) or by file (--valid-input), each document
// written as `BOS text EOS` (--no-bos: `text EOS`).
#include <cstdio>
#include <memory>

#include "hld/cli/common.h"
#include "hld/data/prepare.h"
#include "hld/util/error.h"

namespace hld::cli {
namespace {

int run_prepare(const data::PrepareOptions& o) {
  const auto r = data::prepare_shards(o);
  auto line = [](const char* split, const nlohmann::json& ix) {
    std::printf("%s: %llu documents, %llu tokens in %zu shard(s) (%s, %s)\n", split,
                static_cast<unsigned long long>(ix.value("documents", 0ull)),
                static_cast<unsigned long long>(ix.value("tokens", 0ull)), ix["shards"].size(),
                ix.value("dtype", std::string()).c_str(), ix.value("bos", false) ? "BOS text EOS" : "text EOS");
  };
  if (r.up_to_date) std::printf("%s is up to date; nothing to do\n", o.out_dir.c_str());
  line("train", r.train_index);
  line("valid", r.valid_index);
  const auto& s = r.train_reader;
  if (!r.up_to_date)
    std::printf(
        "skipped: %lld malformed, %lld invalid UTF-8, %lld empty, %lld truncated files, %lld train "
        "documents also in valid\n",
        static_cast<long long>(s.malformed + (o.valid_inputs.empty() ? 0 : r.valid_reader.malformed)),
        static_cast<long long>(s.invalid_utf8 + (o.valid_inputs.empty() ? 0 : r.valid_reader.invalid_utf8)),
        static_cast<long long>(s.empty + (o.valid_inputs.empty() ? 0 : r.valid_reader.empty)),
        static_cast<long long>(s.truncated_gz + (o.valid_inputs.empty() ? 0 : r.valid_reader.truncated_gz)),
        static_cast<long long>(r.dropped_in_valid));
  return kExitOk;
}

}  // namespace

void register_prepare(CLI::App& app, Action& action) {
  auto o = std::make_shared<data::PrepareOptions>();
  auto* sub = app.add_subcommand("prepare", "raw text (C4 .json.gz, .jsonl, .txt) -> token shards");
  sub->add_option("--tokenizer", o->tokenizer, "SentencePiece .model")->required();
  sub->add_option("--input", o->inputs, "corpus files: .json.gz (C4), .jsonl, .txt, each optionally .gz")
      ->required()
      ->expected(1, -1);
  sub->add_option("--out", o->out_dir, "output directory (gets train/ and valid/)")->required();
  auto* frac = sub->add_option("--valid-fraction", o->valid_fraction, "share of documents hashed into valid/")
                   ->capture_default_str();
  auto* vin = sub->add_option("--valid-input", o->valid_inputs,
                              "files forming valid/ instead (train documents also found there are dropped)")
                  ->expected(1, -1);
  frac->excludes(vin);
  sub->add_option("--split-seed", o->split_seed, "seed of the document hash split")->capture_default_str();
  sub->add_option("--shard-tokens", o->shard_tokens, "tokens per shard")->capture_default_str();
  sub->add_flag_callback(
      "--no-bos", [o] { o->bos = false; },
      "write documents as `text EOS` instead of `BOS text EOS` (Gemma's pre-training layout, the default)");
  sub->add_option("--text-field", o->reader.text_field, "JSON field holding the text")->capture_default_str();
  sub->add_flag("--strict", o->reader.strict, "bad lines are errors (exit 2) instead of being skipped");
  sub->add_flag("--allow-truncated", o->reader.allow_truncated_gz, "keep the complete lines of a truncated .gz");
  sub->add_option("--threads", o->threads, "encoding threads (0: all cores)")->capture_default_str();
  sub->add_option("--progress-seconds", o->progress_seconds, "seconds between progress lines (0: none)")
      ->capture_default_str();
  sub->callback([&action, o] { action = [o] { return run_prepare(*o); }; });
}

}  // namespace hld::cli
