// Shared set-up of the teacher-cache tests: a temporary directory with a token split (synthetic
// ids, or the embedded corpus through a small SentencePiece model), a tiny random or briefly
// trained teacher saved as an hld-train model directory, and experiment configs around them.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "../data/data_test_util.h"
#include "hld/config/loader.h"
#include "hld/data/batch_stream.h"
#include "hld/data/shards.h"
#include "hld/data/tokenizer.h"
#include "hld/model/model_io.h"
#include "hld/teacher/cache_writer.h"
#include "hld/train/trainer.h"
#include "hld/util/error.h"
#include "test_util.h"

namespace hld::teacher::testing {

inline std::string model_yaml(const std::string& name, int64_t vocab, int64_t d, int64_t layers) {
  return "{name: " + name + ", vocab_size: " + std::to_string(vocab) + ", hidden_size: " + std::to_string(d) +
         ", intermediate_size: " + std::to_string(2 * d) + ", num_layers: " + std::to_string(layers) +
         ", num_heads: 2, num_kv_heads: 1, head_dim: 8, query_pre_attn_scalar: 8, sliding_window: 8}";
}

/// Synthetic documents of pseudo-random ids in [4, vocab) (EOS = 1 after each).
inline void write_synthetic_split(const std::string& dir, int64_t vocab, int docs, const std::string& tok_hash) {
  data::ShardWriter w(dir, "train", tok_hash, vocab, 1, 300, [] { return nlohmann::json::object(); });
  uint64_t x = 12345;
  for (int d = 0; d < docs; ++d) {
    std::vector<int32_t> ids;
    const int len = 8 + (d * 13) % 40;
    for (int k = 0; k < len; ++k) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      ids.push_back(static_cast<int32_t>(4 + (x >> 33) % static_cast<uint64_t>(vocab - 4)));
    }
    w.add_document(ids, "synthetic");
  }
  w.finish({{"note", "teacher cache test"}});
}

/// A teacher with random weights (normal(0, init_std): a wide logit spread like a trained
/// model's), saved as an hld-train model directory.
inline void save_random_teacher(const std::string& dir, int64_t vocab, int64_t d, int64_t layers, uint64_t seed,
                                double init_std) {
  torch::manual_seed(seed);
  config::ModelConfig m = config::load_string("model: " + model_yaml("teacher", vocab, d, layers)).model;
  model::Transformer t(m);
  t->init_weights(init_std);
  model::save_model_dir(t, dir);
}

struct CacheWorld {
  test::TempDir tmp;
  std::string train, teacher, cache, run;
  int64_t vocab = 256, teacher_d = 32, teacher_layers = 4, context = 16;

  /// Synthetic split (~60 sequences of 16 tokens) and a random 4-block teacher.
  explicit CacheWorld(uint64_t teacher_seed = 1, const std::string& tok_hash = "feedfacefeedface") {
    train = tmp / "shards/train";
    teacher = tmp / "teacher";
    cache = tmp / "cache";
    run = tmp / "run";
    write_synthetic_split(train, vocab, 36, tok_hash);
    save_random_teacher(teacher, vocab, teacher_d, teacher_layers, teacher_seed, 0.5);
  }

  /// An experiment around this world: student 2 blocks of width 16, batch 4 × context 16,
  /// `steps` optimizer steps.
  std::string yaml(const std::string& objective, const std::string& source, int64_t steps = 6) const {
    return "run: {dir: " + run +
           ", seed: 3, device: cpu, log_every: 1, threads: 1, peak_flops: 1.0e9}\n"
           "model: " +
           model_yaml("student", vocab, 16, 2) +
           "\n"
           "data: {train: " +
           train + ", context: " + std::to_string(context) +
           ", batch_size: 4}\n"
           "objective: {name: " +
           objective +
           ", top_k: 8, alpha: 0.5, temperature: 1.0, gamma: 0.5, p1: 0.34}\n"
           "optimizer: {lr: 1.0e-2}\n"
           "schedule: {warmup_steps: 2, hint_warmup_steps: 2}\n"
           "budget: {unit: steps, amount: " +
           std::to_string(steps) +
           "}\n"
           "teacher: {checkpoint: " +
           teacher + ", source: " + source + ", cache: " + cache + "}\n";
  }
  /// yaml() loaded with `sets` applied last.
  config::ExperimentConfig config(const std::string& objective, const std::string& source,
                                  std::vector<std::string> sets = {}, int64_t steps = 6) const {
    return config::load_string(yaml(objective, source, steps), sets);
  }
};

/// Reads metrics.jsonl records that carry `key` (step order).
inline std::vector<double> metric_series(const std::string& run_dir, const std::string& key) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<double> out;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains(key)) out.push_back(j[key].get<double>());
  }
  return out;
}

constexpr int64_t kAll = int64_t{1} << 30;  ///< more sequences than a split has: cache all of it

/// cache-teacher in-process: chunks of `chunk_rows` sequences, teacher batches of 5, quiet.
inline CacheWriteResult write_cache(const config::ExperimentConfig& cfg, int64_t chunk_rows = 16,
                                    int64_t sequences = kAll, int64_t stop_after = -1,
                                    int version = io::kTeacherCacheVersion) {
  CacheWriteOptions o;
  o.plan.version = version;
  o.plan.chunk_rows = chunk_rows;
  o.plan.sequences = sequences;
  o.batch = 5;
  o.stop_after_chunks = stop_after;
  o.quiet = true;
  return write_teacher_cache(cfg, o);
}

/// The message of the InputError `f` throws (a test failure when it throws none).
inline std::string input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

/// The first batch of cfg's stream (4 sequences): input (4 × context) and its sequence ids.
inline std::pair<torch::Tensor, std::vector<int64_t>> first_batch(const config::ExperimentConfig& cfg) {
  data::BatchStream stream(cfg.data.train, 4, cfg.data.context, cfg.run.seed);
  std::vector<int32_t> toks;
  std::vector<int64_t> ids;
  stream.next(toks, ids);
  const int64_t T = cfg.data.context;
  auto t = torch::from_blob(toks.data(), {4, T + 1}, torch::kInt32).to(torch::kInt64).narrow(1, 0, T).contiguous();
  return {t, ids};
}

}  // namespace hld::teacher::testing
