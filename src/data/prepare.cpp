// prepare_shards: reads corpora, routes each document to train or valid, encodes batches of
// documents on several threads, appends them in input order to the split's ShardWriter, prints a
// progress line, and skips all work when the finished output already matches. A progress record
// (OUT/prepare.progress.json) written at every shard close and every few seconds lets a killed run
// resume: documents already in the shards are read again (the reader counters advance exactly as
// before) but not encoded.
#include "hld/data/prepare.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <thread>
#include <unordered_set>

#include "hld/data/permutation.h"
#include "hld/data/shards.h"
#include "hld/data/tokenizer.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::data {
namespace {

using Clock = std::chrono::steady_clock;

/// Identity of the inputs: absolute path, size and modification time of each file.
nlohmann::json fingerprint(const std::vector<std::string>& files) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : files) {
    struct stat st {};
    ::stat(f.c_str(), &st);
    out.push_back({{"path", std::filesystem::absolute(f).lexically_normal().string()},
                   {"bytes", static_cast<uint64_t>(st.st_size)},
                   {"mtime_ns", static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec}});
  }
  return out;
}

std::string human(double v) {
  char buf[32];
  if (v >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  else if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e4)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string duration(double s) {
  char buf[32];
  const auto t = static_cast<long long>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  return buf;
}

/// Progress over all readers of one run: documents/s, tokens/s, share of input bytes, ETA.
struct Progress {
  double every;
  uint64_t total_bytes;
  std::vector<const CorpusReader*> readers;
  Clock::time_point start = Clock::now(), last = Clock::now();
  int64_t docs = 0;  // documents encoded by this process
  uint64_t tokens = 0;
  uint64_t base_bytes = 0;  // input bytes that a resume skipped (not counted in the rates and ETA)

  /// Called when a resume has skipped what was done before: rates and ETA count from here.
  void resumed() {
    base_bytes = consumed();
    start = last = Clock::now();
  }

  uint64_t consumed() const {
    uint64_t c = 0;
    for (auto* r : readers) c += r->consumed_bytes();
    return c;
  }
  void tick(bool final = false) {
    const auto now = Clock::now();
    if (!final && (every <= 0 || std::chrono::duration<double>(now - last).count() < every)) return;
    last = now;
    const double el = std::max(1e-9, std::chrono::duration<double>(now - start).count());
    std::string line = "prepare: " + human(docs) + " docs (" + human(docs / el) + " docs/s), " + human(tokens) +
                       " tokens (" + human(tokens / el) + " tokens/s)";
    if (total_bytes > 0) {
      const double frac = std::min(1.0, static_cast<double>(consumed()) / static_cast<double>(total_bytes));
      char pct[32];
      std::snprintf(pct, sizeof pct, ", %.1f%% of input", 100 * frac);
      line += pct;
      const double done = static_cast<double>(consumed() - std::min(consumed(), base_bytes));
      const double left = static_cast<double>(total_bytes - std::min(total_bytes, consumed()));
      if (!final && done > 0) line += ", ETA " + duration(el * left / done);
    }
    if (final) line += ", " + duration(el) + " total";
    spdlog::info("{}", line);
  }
};

/// State of one run shared by the pipelines of both readers.
struct Run {
  int64_t read = 0;     ///< documents returned by the readers so far (valid reader first in file mode)
  int64_t skip_to = 0;  ///< resume: the first this many documents are already in the shards
  std::vector<const ShardWriter*> writers;
  std::map<const ShardWriter*, int64_t> skipped;  ///< per writer, checked against the restored counts
  bool skip_done = true;
  ReaderStats at_doc;  ///< reader counters right after the document being added (shard headers)
  std::function<void(int64_t consumed)> checkpoint;  ///< writes the progress record
  double checkpoint_seconds = 0;
  Clock::time_point last_checkpoint = Clock::now();
};

/// Thrown when a progress record turns out not to match the inputs: the run starts over.
struct StartOver : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Reads `reader` to the end; `route` picks the writer of each document (nullptr: drop it).
/// Documents are encoded in batches on `threads` threads and written in input order. When
/// resuming, documents before `run.skip_to` are read and routed (rebuilding the router's state)
/// but not encoded. A progress record is written after every document that closes a shard and,
/// every `checkpoint_seconds`, after a batch.
template <class Route>
void run_pipeline(CorpusReader& reader, const Tokenizer& tok, int threads, Route route, Run& run, Progress& progress) {
  const size_t batch_docs = std::max<size_t>(256, 32 * static_cast<size_t>(threads));
  constexpr size_t kBatchBytes = 4 << 20;
  std::vector<Document> docs;
  std::vector<ShardWriter*> dest;
  std::vector<int64_t> ordinal;    // run.read after the document
  std::vector<ReaderStats> stats;  // reader counters after the document
  std::vector<std::vector<int32_t>> ids;
  Document d;
  bool more = true;
  while (run.read < run.skip_to && (more = reader.next(d))) {
    ++run.read;
    if (ShardWriter* w = route(d)) ++run.skipped[w];
  }
  if (!more) return;
  if (!run.skip_done) {
    for (const ShardWriter* w : run.writers)
      if (run.skipped[w] != w->documents())
        throw StartOver("the shards hold " + std::to_string(w->documents()) + " documents where the inputs give " +
                        std::to_string(run.skipped[w]));
    run.skip_done = true;
    progress.resumed();
  }
  while (more) {
    docs.clear();
    dest.clear();
    ordinal.clear();
    stats.clear();
    size_t bytes = 0;
    while (docs.size() < batch_docs && bytes < kBatchBytes && (more = reader.next(d))) {
      ++run.read;
      ShardWriter* w = route(d);
      if (!w) continue;
      bytes += d.text.size();
      dest.push_back(w);
      ordinal.push_back(run.read);
      stats.push_back(reader.stats());
      docs.push_back(std::move(d));
    }
    if (docs.empty()) break;
    ids.resize(docs.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i; (i = next.fetch_add(1)) < docs.size();) ids[i] = tok.encode(docs[i].text);
    };
    const int n = std::max(1, std::min<int>(threads, static_cast<int>(docs.size())));
    std::vector<std::thread> pool;
    for (int t = 1; t < n; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    for (size_t i = 0; i < docs.size(); ++i) {
      run.at_doc = stats[i];
      const int64_t closed = dest[i]->num_shards();
      dest[i]->add_document(ids[i], docs[i].source);
      ++progress.docs;
      progress.tokens += ids[i].size() + (dest[i]->bos_id() >= 0 ? 2 : 1);
      if (dest[i]->num_shards() != closed) run.checkpoint(ordinal[i]);
    }
    progress.tick();
    if (run.checkpoint_seconds > 0 &&
        std::chrono::duration<double>(Clock::now() - run.last_checkpoint).count() >= run.checkpoint_seconds)
      run.checkpoint(run.read);
  }
}

void check_options(const PrepareOptions& o) {
  HLD_INPUT_CHECK(!o.tokenizer.empty(), "prepare: --tokenizer MODEL is required");
  HLD_INPUT_CHECK(!o.inputs.empty(), "prepare: --input FILES is required");
  HLD_INPUT_CHECK(!o.out_dir.empty(), "prepare: --out DIR is required");
  HLD_INPUT_CHECK(o.shard_tokens > 0, "prepare: --shard-tokens must be positive");
  if (o.valid_inputs.empty())
    HLD_INPUT_CHECK(o.valid_fraction >= 0 && o.valid_fraction < 1,
                    "prepare: --valid-fraction must be in [0, 1), got " + std::to_string(o.valid_fraction));
}

/// True when `dir` holds a complete split written from the same tokenizer, inputs and settings.
bool split_up_to_date(const std::string& dir, const std::string& tok_hash, const nlohmann::json& inputs,
                      const nlohmann::json& settings, nlohmann::json& index) {
  if (!std::filesystem::exists(dir + "/index.json")) return false;
  try {
    ShardSet set(dir, tok_hash);
    const auto& ix = set.index();
    if (ix.value("inputs", nlohmann::json()) != inputs || ix.value("settings", nlohmann::json()) != settings)
      return false;
    index = ix;
    return true;
  } catch (const InputError& e) {
    spdlog::info("prepare: existing output in {} will be rewritten ({})", dir, e.what());
    return false;
  }
}

const char* kProgressFile = "prepare.progress.json";

/// Removes the progress record and temporary files of its atomic writes.
void remove_progress(const std::string& out_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(out_dir, ec)) return;
  static const std::regex ours(R"(prepare\.progress\.json(\.tmp\.\d+)?)");
  for (const auto& e : std::filesystem::directory_iterator(out_dir, ec))
    if (std::regex_match(e.path().filename().string(), ours)) std::filesystem::remove(e.path(), ec);
  util::fsync_dir(out_dir);
}

/// The progress record of an interrupted run with the same fingerprint, or nothing (logged).
/// Only its envelope is checked here; the writers' states are checked by ShardWriter::restore.
std::optional<nlohmann::json> load_progress(const std::string& path, const nlohmann::json& fp) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  const auto size = std::filesystem::file_size(path, ec);
  nlohmann::json j;
  try {
    if (!ec && size < (64u << 20)) j = nlohmann::json::parse(util::read_file(path), nullptr, false);
  } catch (const std::exception&) {  // unreadable: handled like a corrupt record
  }
  if (j.is_discarded() || !j.is_object() || j.value("format", nlohmann::json()) != "hld-prepare-progress" ||
      j.value("version", nlohmann::json()) != 1 || !j.contains("consumed") || !j["consumed"].is_number_unsigned() ||
      j["consumed"].get<uint64_t>() > (uint64_t{1} << 62) || !j.contains("train") || !j.contains("valid")) {
    spdlog::warn("prepare: ignoring unreadable progress record '{}'; starting over", path);
    return std::nullopt;
  }
  if (j.value("fingerprint", nlohmann::json()) != fp) {
    spdlog::info("prepare: '{}' is from other inputs, settings or tokenizer; starting over", path);
    return std::nullopt;
  }
  return j;
}

PrepareResult prepare_impl(const PrepareOptions& o, bool allow_resume);

}  // namespace

bool hash_to_valid(const std::string& text, double fraction, uint64_t seed) {
  if (fraction <= 0) return false;
  const uint64_t h = splitmix64(util::fnv1a64(text.data(), text.size(), splitmix64(seed) | 1));
  const double u = static_cast<double>(h >> 11) * 0x1.0p-53;
  return u < fraction;
}

PrepareResult prepare_shards(const PrepareOptions& o) {
  try {
    return prepare_impl(o, /*allow_resume=*/true);
  } catch (const StartOver& e) {
    spdlog::warn("prepare: cannot resume ({}); starting over", e.what());
    return prepare_impl(o, /*allow_resume=*/false);
  }
}

namespace {

PrepareResult prepare_impl(const PrepareOptions& o, bool allow_resume) {
  check_options(o);
  const auto t0 = Clock::now();
  Tokenizer tok(o.tokenizer);
  HLD_INPUT_CHECK(!o.bos || (tok.bos_id() >= 0 && tok.bos_id() < tok.vocab_size()),
                  "prepare: tokenizer '" + o.tokenizer +
                      "' has no BOS piece, so documents cannot be written as BOS text EOS (pass --no-bos)");
  const int32_t bos_id = o.bos ? tok.bos_id() : -1;
  // Opening the readers checks that every input exists before anything is written.
  CorpusReader train_reader(o.inputs, o.reader);
  std::unique_ptr<CorpusReader> valid_reader;
  if (!o.valid_inputs.empty()) valid_reader = std::make_unique<CorpusReader>(o.valid_inputs, o.reader);
  const bool by_files = valid_reader != nullptr;
  auto event = [&](const std::string& name, const nlohmann::json& info) {
    if (o.on_event) o.on_event(name, info);
  };

  const nlohmann::json settings = {
      {"split", by_files ? "files" : "hash"},
      {"valid_fraction", by_files ? 0.0 : o.valid_fraction},
      {"split_seed", o.split_seed},
      {"text_field", o.reader.text_field},
      {"allow_truncated_gz", o.reader.allow_truncated_gz},
      {"max_line_bytes", o.reader.max_line_bytes},
      {"shard_tokens", o.shard_tokens},
      {"bos", o.bos},
  };
  const nlohmann::json inputs = {{"train", fingerprint(o.inputs)}, {"valid", fingerprint(o.valid_inputs)}};
  const std::string train_dir = o.out_dir + "/train", valid_dir = o.out_dir + "/valid";
  const std::string progress_path = o.out_dir + "/" + kProgressFile;

  PrepareResult res;
  if (split_up_to_date(train_dir, tok.hash(), inputs, settings, res.train_index) &&
      split_up_to_date(valid_dir, tok.hash(), inputs, settings, res.valid_index)) {
    res.up_to_date = true;
    remove_progress(o.out_dir);  // left when the process died just after writing the last index
    spdlog::info("prepare: {} is up to date ({} train tokens, {} valid tokens); nothing to do", o.out_dir,
                 res.train_index["tokens"].get<uint64_t>(), res.valid_index["tokens"].get<uint64_t>());
    return res;
  }

  // What a progress record must match to be resumed: everything the output depends on.
  const nlohmann::json fp = {{"tokenizer_hash", tok.hash()}, {"inputs", inputs}, {"settings", settings}};
  std::optional<nlohmann::json> saved;
  if (allow_resume) saved = load_progress(progress_path, fp);
  if (!saved) remove_progress(o.out_dir);

  const bool out_existed = std::filesystem::exists(o.out_dir);
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const CorpusReader* vr = valid_reader ? valid_reader.get() : &train_reader;
  Run run;
  ShardWriter train_w(
      train_dir, "train", tok.hash(), tok.vocab_size(), tok.eos_id(), o.shard_tokens,
      [&run] { return run.at_doc.to_json(); }, bos_id);
  ShardWriter valid_w(
      valid_dir, "valid", tok.hash(), tok.vocab_size(), tok.eos_id(), o.shard_tokens,
      [&run] { return run.at_doc.to_json(); }, bos_id);
  run.writers = {&train_w, &valid_w};
  run.checkpoint_seconds = o.checkpoint_seconds;
  run.checkpoint = [&](int64_t consumed) {
    const nlohmann::json rec = {{"format", "hld-prepare-progress"},
                                {"version", 1},
                                {"fingerprint", fp},
                                {"consumed", consumed},
                                {"train", train_w.checkpoint()},
                                {"valid", valid_w.checkpoint()}};
    util::write_file_atomic(progress_path, rec.dump() + "\n");
    run.last_checkpoint = Clock::now();
    event("checkpoint", {{"consumed", consumed}});
  };
  if (saved) {
    try {
      std::set<std::string> files(o.inputs.begin(), o.inputs.end());
      files.insert(o.valid_inputs.begin(), o.valid_inputs.end());
      for (const char* split : {"train", "valid"}) {
        const auto& open =
            (*saved)[split].is_object() ? (*saved)[split].value("open", nlohmann::json()) : nlohmann::json();
        if (open.is_object() && open.contains("sources") && open["sources"].is_array())
          for (const auto& f : open["sources"])
            if (!f.is_string() || !files.count(f.get<std::string>()))
              throw InputError(std::string(split) + ": an open shard's source is not an input");
      }
      train_w.restore((*saved)["train"]);
      valid_w.restore((*saved)["valid"]);
    } catch (const std::exception& e) {
      throw StartOver(progress_path + ": " + e.what());
    }
    run.skip_to = static_cast<int64_t>((*saved)["consumed"].get<uint64_t>());
    run.skip_done = false;
    res.resumed_at = run.skip_to;
    res.kept_shards = train_w.num_shards() + valid_w.num_shards();
    spdlog::info("prepare: resuming at document {} ({} shards kept, {} train + {} valid tokens)", run.skip_to,
                 res.kept_shards, train_w.tokens(), valid_w.tokens());
    event("resume", {{"consumed", run.skip_to}, {"kept_shards", res.kept_shards}});
  }
  Progress progress{o.progress_seconds,
                    train_reader.total_bytes() + (valid_reader ? valid_reader->total_bytes() : 0),
                    {&train_reader}};
  if (valid_reader) progress.readers.push_back(valid_reader.get());
  spdlog::info("prepare: {} -> {} ({} threads, tokenizer {} with {} pieces, {}, {})",
               o.inputs.size() == 1 ? o.inputs[0] : std::to_string(o.inputs.size()) + " files", o.out_dir, threads,
               tok.hash(), tok.vocab_size(), dtype_name(dtype_for_vocab(tok.vocab_size())),
               o.bos ? "BOS text EOS" : "text EOS");
  try {
    if (by_files) {
      // Valid first, remembering its documents so that none of them is also trained on.
      std::unordered_set<uint64_t> valid_docs;
      run_pipeline(
          *valid_reader, tok, threads,
          [&](const Document& d) {
            valid_docs.insert(util::fnv1a64(d.text));
            return &valid_w;
          },
          run, progress);
      run_pipeline(
          train_reader, tok, threads,
          [&](const Document& d) -> ShardWriter* {
            if (valid_docs.count(util::fnv1a64(d.text))) {
              ++res.dropped_in_valid;
              return nullptr;
            }
            return &train_w;
          },
          run, progress);
    } else {
      run_pipeline(
          train_reader, tok, threads,
          [&](const Document& d) {
            return hash_to_valid(d.text, o.valid_fraction, o.split_seed) ? &valid_w : &train_w;
          },
          run, progress);
    }
    if (!run.skip_done) throw StartOver("the inputs end before document " + std::to_string(run.skip_to));
  } catch (const InputError&) {
    train_w.abort();
    valid_w.abort();
    remove_progress(o.out_dir);
    std::error_code ec;
    if (!out_existed) std::filesystem::remove(o.out_dir, ec);
    throw;
  }
  progress.tick(/*final=*/true);
  // Everything is read: a process that dies while closing the last shards or writing the indexes
  // resumes from here without encoding anything.
  run.checkpoint(run.read);

  res.train_reader = train_reader.stats();
  res.valid_reader = vr->stats();
  const nlohmann::json common = {{"inputs", inputs}, {"settings", settings}, {"tokenizer_path", o.tokenizer}};
  nlohmann::json train_extra = common, valid_extra = common;
  train_extra["reader"] = res.train_reader.to_json();
  train_extra["dropped_in_valid"] = res.dropped_in_valid;
  valid_extra["reader"] = res.valid_reader.to_json();
  // The last shards close with the final counters of the reader that fed them.
  run.at_doc = res.train_reader;
  event("index", {{"split", "train"}});
  res.train_index = train_w.finish(train_extra);
  run.at_doc = res.valid_reader;
  event("index", {{"split", "valid"}});
  res.valid_index = valid_w.finish(valid_extra);
  remove_progress(o.out_dir);  // the indexes, written last, mark the output complete
  res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto& s = res.train_reader;
  spdlog::info(
      "prepare: train {} docs / {} tokens, valid {} docs / {} tokens; skipped {} malformed, {} invalid "
      "UTF-8, {} empty, {} truncated files{}",
      train_w.documents(), train_w.tokens(), valid_w.documents(), valid_w.tokens(),
      s.malformed + (by_files ? res.valid_reader.malformed : 0),
      s.invalid_utf8 + (by_files ? res.valid_reader.invalid_utf8 : 0),
      s.empty + (by_files ? res.valid_reader.empty : 0),
      s.truncated_gz + (by_files ? res.valid_reader.truncated_gz : 0),
      res.dropped_in_valid ? "; dropped " + std::to_string(res.dropped_in_valid) + " train docs also in valid"
                           : std::string());
  if (valid_w.documents() == 0) spdlog::warn("prepare: the valid split is empty");
  return res;
}

}  // namespace
}  // namespace hld::data
