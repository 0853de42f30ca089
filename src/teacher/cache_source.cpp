// The training-side teacher cache: header checks against the run, then per-batch rows looked up
// by the stream's sequence ids, checked against the batch's tokens, read (sequentially), then
// checksummed and decoded (in parallel over rows, or on the calling prefetch thread).
#include "hld/teacher/cache_source.h"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "hld/config/hidden_pairs.h"
#include "hld/teacher/cache_plan.h"
#include "hld/teacher/sampled_logits.h"
#include "hld/teacher/shared_vocab.h"
#include "hld/util/error.h"
#include "hld/util/hash.h"

namespace hld::teacher {
namespace {

class CacheSource : public TeacherSource {
 public:
  CacheSource(std::unique_ptr<CacheReader> reader, config::ModelConfig shape, torch::Device device, bool parallel,
              const SignalRequest& req)
      : reader_(std::move(reader)),
        shape_(std::move(shape)),
        device_(device),
        parallel_(parallel),
        k_(req.top_k),
        logz_(req.logz),
        sampled_(req.sampled) {
    const auto& ix = reader_->index();
    for (int64_t m : req.hidden_layers) slots_.push_back(ix.layer_slot(m));
  }

  objectives::TeacherSignals signals(const torch::Tensor& input_BxT, const std::vector<int64_t>& seq_ids,
                                     const spec::Needs& needs) override {
    const auto& ix = reader_->index();
    const auto& l = ix.layout;
    const std::string& dir = reader_->dir();
    auto in = input_BxT.to(torch::kCPU).to(torch::kInt32).contiguous();
    const int64_t B = in.size(0), T = in.size(1);
    HLD_INPUT_CHECK(T == ix.context && static_cast<int64_t>(seq_ids.size()) == B,
                    "teacher.cache '" + dir + "': batch of " + std::to_string(B) + "x" + std::to_string(T) +
                        " tokens for a cache of context " + std::to_string(ix.context));
    std::vector<std::string> lraw(static_cast<size_t>(B)), hraw(static_cast<size_t>(B));
    std::vector<int64_t> rows(static_cast<size_t>(B));
    std::vector<io::RowEntry> entries(static_cast<size_t>(B));
    const int32_t* ids = in.data_ptr<int32_t>();
    for (int64_t b = 0; b < B; ++b) {
      const int64_t seq = seq_ids[static_cast<size_t>(b)];
      const int64_t row = reader_->row_of(seq);
      HLD_INPUT_CHECK(row >= 0, "teacher.cache '" + dir + "' does not hold sequence " + std::to_string(seq) +
                                    " (it holds " + std::to_string(ix.rows) + " of the split's " +
                                    std::to_string(ix.data_sequences) +
                                    " sequences); re-run cache-teacher with "
                                    "more teacher.cache_tokens");
      entries[static_cast<size_t>(b)] = reader_->entry(row);
      HLD_INPUT_CHECK(io::tokens_hash(ids + b * T, T, ix.version) == entries[static_cast<size_t>(b)].tokens_hash,
                      "teacher.cache '" + dir + "': sequence " + std::to_string(seq) +
                          " has other tokens than when the cache was written (data.train changed?)");
      rows[static_cast<size_t>(b)] = row;
      reader_->read_raw(row, needs.teacher_logits ? &lraw[static_cast<size_t>(b)] : nullptr,
                        needs.teacher_hidden ? &hraw[static_cast<size_t>(b)] : nullptr, /*verify=*/false);
    }
    objectives::TeacherSignals s;
    torch::Tensor vals, idx, hidden, logz;
    const int64_t L = static_cast<int64_t>(std::max<size_t>(1, ix.layers.size()));
    if (needs.teacher_logits) {
      vals = torch::empty({B * T, l.top_k}, torch::kFloat32);
      idx = torch::empty({B * T, l.top_k}, torch::kInt64);
      if (logz_) logz = torch::empty({B * T}, torch::kFloat32);
    }
    if (needs.teacher_hidden) hidden = torch::empty({B * T, L, l.hidden_size}, torch::kFloat32);
    auto decode = [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const size_t i = static_cast<size_t>(b);
        reader_->check_raw(rows[i], entries[i], needs.teacher_logits ? &lraw[i] : nullptr,
                           needs.teacher_hidden ? &hraw[i] : nullptr);
        if (needs.teacher_logits)
          reader_->decode_logits_block(rows[i], lraw[i], vals.data_ptr<float>() + b * T * l.top_k,
                                       idx.data_ptr<int64_t>() + b * T * l.top_k,
                                       logz_ ? logz.data_ptr<float>() + b * T : nullptr);
        if (needs.teacher_hidden)
          reader_->decode_hidden_block(rows[i], hraw[i], hidden.data_ptr<float>() + b * T * L * l.hidden_size);
      }
    };
    if (parallel_)
      at::parallel_for(0, B, 1, decode);
    else
      decode(0, B);
    if (needs.teacher_logits) {
      if (k_ < l.top_k) std::tie(vals, idx) = truncate_top_k(vals, idx, k_);  // capture once, sweep k
      s.vals_NxK = vals.to(device_);
      s.idx_NxK = idx.to(device_);
      if (logz_) s.logz_N = logz.to(device_);
      if (sampled_) s.counts_NxK = run_counts(idx).to(device_);  // a repeated id's run is its draw count
    }
    if (needs.teacher_hidden) {
      auto layer = [&](int64_t slot) { return L == 1 ? hidden.select(1, 0) : hidden.select(1, slot).contiguous(); };
      for (int64_t slot : slots_) s.hidden_NxD.push_back(layer(slot).to(device_));
    }
    return s;
  }

  const config::ModelConfig& model_config() const override { return shape_; }

 private:
  std::unique_ptr<CacheReader> reader_;
  config::ModelConfig shape_;
  torch::Device device_;
  bool parallel_;
  int64_t k_;                   // objective.top_k ≤ the cache's k_max
  bool logz_;                   // serve logz_N
  bool sampled_;                // serve counts_NxK (teacher.logits: sampled)
  std::vector<int64_t> slots_;  // position of each hidden pair's teacher layer in the cache's layers
};

std::string fmt_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string mismatch(const std::string& dir, const std::string& field, const std::string& cache_value,
                     const std::string& run_value, const std::string& key) {
  return "teacher.cache '" + dir + "' does not match this run: header field '" + field + "' is " + cache_value +
         " in the cache but " + run_value + " for the run (" + key + ")";
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> truncate_top_k(const torch::Tensor& vals_NxKmax,
                                                       const torch::Tensor& idx_NxKmax, int64_t k) {
  // Stable descending sort of rows whose ids ascend: equal values keep the lower id first.
  auto order = std::get<1>(vals_NxKmax.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true));
  auto keep_NxK = std::get<0>(order.narrow(1, 0, k).sort(1));  // back to ascending id order
  return {vals_NxKmax.gather(1, keep_NxK).contiguous(), idx_NxKmax.gather(1, keep_NxK).contiguous()};
}

void check_cache_matches(const CacheReader& reader, const config::ExperimentConfig& cfg,
                         const config::ModelConfig& shape, int64_t hint, const data::BatchStream& order,
                         int64_t positions) {
  const auto& ix = reader.index();
  const std::string& dir = reader.dir();
  auto num = [](auto v) { return std::to_string(v); };
  if (!cfg.teacher.checkpoint.empty()) {
    // Hashed the way the cache's header was (an older cache records FNV-1a: still readable).
    util::Digest stored;
    const util::HashAlgo algo = util::parse_digest(ix.teacher_hash, &stored) ? stored.algo : util::HashAlgo::kXxh3;
    const std::string h = teacher_weights_hash(cfg.teacher.checkpoint, algo);
    HLD_INPUT_CHECK(h == ix.teacher_hash,
                    mismatch(dir, "teacher.hash", ix.teacher_hash + " (written from '" + ix.teacher_checkpoint + "')",
                             h, "teacher.checkpoint '" + cfg.teacher.checkpoint + "'"));
  } else {
    spdlog::warn("teacher.checkpoint is not set: the cache's teacher ({}, hash {}) is checked by shape only",
                 ix.teacher_checkpoint, ix.teacher_hash);
  }
  HLD_INPUT_CHECK(ix.teacher_layers == shape.num_layers, mismatch(dir, "teacher.num_layers", num(ix.teacher_layers),
                                                                  num(shape.num_layers), "the teacher's depth"));
  HLD_INPUT_CHECK(ix.layout.hidden_size == shape.hidden_size, mismatch(dir, "hidden_size", num(ix.layout.hidden_size),
                                                                       num(shape.hidden_size), "the teacher's width"));
  const SharedVocab vocab = shared_vocab(cfg, shape);  // a cache holds the shared ids
  HLD_INPUT_CHECK(ix.layout.vocab_size == vocab.shared,
                  mismatch(dir, "vocab_size", num(ix.layout.vocab_size), num(vocab.shared),
                           "the vocabulary the teacher shares with the student"));
  HLD_INPUT_CHECK(ix.tokenizer_hash == order.tokenizer_hash(),
                  mismatch(dir, "tokenizer_hash", ix.tokenizer_hash, order.tokenizer_hash(),
                           "the tokenizer of data.train '" + cfg.data.train + "'"));
  HLD_INPUT_CHECK(ix.data_tokens == order.num_tokens() && ix.data_checksum == split_checksum(order.shards()),
                  mismatch(dir, "data", num(ix.data_tokens) + " tokens, checksum " + ix.data_checksum,
                           num(order.num_tokens()) + " tokens, checksum " + split_checksum(order.shards()),
                           "data.train '" + cfg.data.train + "'"));
  HLD_INPUT_CHECK(ix.context == cfg.data.context,
                  mismatch(dir, "context", num(ix.context), num(cfg.data.context), "data.context"));
  auto layer_list = [&] {
    std::string l;
    for (int64_t m : ix.layers) l += (l.empty() ? "" : ", ") + num(m);
    return "[" + l + "]";
  };
  const std::string bad = config::check_hidden_pairs(cfg, shape.num_layers);
  HLD_INPUT_CHECK(bad.empty(), bad.substr(0, bad.size() - 1));
  for (const auto& pair : config::resolve_hidden_pairs(cfg, shape.num_layers))
    HLD_INPUT_CHECK(ix.layer_slot(pair.teacher) >= 0,
                    ix.layers.size() <= 1
                        ? mismatch(dir, "layer", num(ix.layer), num(pair.teacher), pair.key)
                        : "teacher.cache '" + dir + "' lacks teacher layer " + num(pair.teacher) + " (" + pair.key +
                              "); it stores layers " + layer_list() +
                              "; write a cache for this config with `hld-train cache-teacher CONFIG` into a new "
                              "directory");
  const bool sampled = cfg.teacher.logits == config::TeacherLogits::kSampled;
  HLD_INPUT_CHECK(sampled == (ix.logits_kind == "sampled"),
                  mismatch(dir, "logits_kind", ix.logits_kind, sampled ? "sampled" : "topk", "teacher.logits"));
  if (sampled) {
    HLD_INPUT_CHECK(cfg.objective.top_k == ix.layout.top_k,
                    "objective.top_k = " + num(cfg.objective.top_k) + ": teacher.cache '" + dir + "' holds " +
                        num(ix.layout.top_k) +
                        " draws per token, and a sampled cache serves exactly its number of draws (the sorted "
                        "draws are no longer a random sample of any smaller size)");
    HLD_INPUT_CHECK(
        ix.sample_seed == cfg.teacher.sample_seed,
        mismatch(dir, "sample_seed", num(ix.sample_seed), num(cfg.teacher.sample_seed), "teacher.sample_seed"));
    HLD_INPUT_CHECK(ix.logz_temperature == cfg.objective.temperature,
                    "objective.temperature = " + fmt_double(cfg.objective.temperature) + ": teacher.cache '" + dir +
                        "' drew its samples at temperature " + fmt_double(ix.logz_temperature) +
                        ", and sampled logits estimate the KL at the temperature they were drawn at");
  }
  HLD_INPUT_CHECK(cfg.objective.top_k <= ix.layout.top_k,
                  "objective.top_k = " + num(cfg.objective.top_k) + " exceeds the k_max = " + num(ix.layout.top_k) +
                      " that teacher.cache '" + dir +
                      "' was written with: a cache serves any objective.top_k <= its k_max; write one at a "
                      "larger k with `hld-train cache-teacher CONFIG`");
  if (cfg.objective.tail == config::TailMode::kBucket) {
    HLD_INPUT_CHECK(ix.has_logz,
                    "objective.tail = bucket needs the teacher's full-vocabulary log-sum-exp, which "
                    "teacher.cache '" +
                        dir + "' (format version " + num(ix.version) +
                        ") does not store; use objective.tail = renormalise or write a new cache "
                        "with `hld-train cache-teacher CONFIG` into a new directory");
    HLD_INPUT_CHECK(ix.logz_temperature == cfg.objective.temperature,
                    "objective.temperature = " + fmt_double(cfg.objective.temperature) +
                        ": objective.tail = bucket needs the log-sum-exp at this temperature, teacher.cache '" + dir +
                        "' stores it at " + fmt_double(ix.logz_temperature));
    HLD_INPUT_CHECK(ix.layout.logits != io::LogitsEncoding::kLogQ8 || ix.logz_relative,
                    "objective.tail = bucket: teacher.cache '" + dir +
                        "' stores logq8 values with a raw log-sum-exp (written before its logz.reference), which "
                        "do not give the teacher's log-probabilities; write a new cache with `hld-train "
                        "cache-teacher CONFIG` into a new directory, or use objective.tail = renormalise");
  }
  if (ix.selection.kind == "prefix") {
    const int64_t need = std::min(positions, order.num_sequences());
    HLD_INPUT_CHECK(need <= ix.selection.positions || need == 0,
                    mismatch(dir, "selection.positions", num(ix.selection.positions), num(need),
                             "the sequences the run reads: budget steps x global batch"));
    HLD_INPUT_CHECK(ix.selection.seed == cfg.run.seed,
                    mismatch(dir, "selection.seed", num(ix.selection.seed), num(cfg.run.seed),
                             "run.seed, which orders the sequences; a cache of the whole split serves every seed"));
  }
}

std::unique_ptr<TeacherSource> make_cache_source(const config::ExperimentConfig& cfg, const config::ModelConfig& shape,
                                                 int64_t hint_layer, torch::Device device, bool parallel_decode,
                                                 int64_t positions) {
  HLD_INPUT_CHECK(!cfg.teacher.cache.empty(), "teacher.cache: teacher.source is 'cache' but no cache directory is set");
  auto reader = std::make_unique<CacheReader>(cfg.teacher.cache);
  const data::BatchStream order(cfg.data.train, 1, cfg.data.context, cfg.run.seed);
  if (positions < 0) positions = run_positions(cfg, shape, 1);
  check_cache_matches(*reader, cfg, shape, hint_layer, order, positions);
  const auto& ix = reader->index();
  HLD_INPUT_CHECK(ix.complete(), "teacher.cache '" + cfg.teacher.cache + "' is incomplete: " +
                                     std::to_string(ix.chunks.size()) + " of " + std::to_string(ix.num_chunks()) +
                                     " chunks written; run `hld-train cache-teacher` again to finish it");
  reader->attach(order);
  spdlog::info("teacher: cache '{}' ({} sequences, {} k {}, layer {}, logits {}, hidden {}, {} B/token)",
               cfg.teacher.cache, ix.rows, ix.logits_kind, ix.layout.top_k, ix.layer, io::to_string(ix.layout.logits),
               io::to_string(ix.layout.hidden), ix.layout.bytes_per_token());
  return std::make_unique<CacheSource>(std::move(reader), shape, device, parallel_decode, signal_request(cfg, shape));
}

}  // namespace hld::teacher
