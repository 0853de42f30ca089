// The expected identity and sequence selection of a teacher cache for a run.
#include "hld/teacher/cache_plan.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "hld/budget/plan.h"
#include "hld/model/model_io.h"
#include "hld/config/hidden_pairs.h"
#include "hld/spec/objective.h"
#include "hld/teacher/teacher.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "hld/util/hash.h"
#include "hld/util/version.h"

namespace fs = std::filesystem;

namespace hld::teacher {

std::string teacher_weights_hash(const std::string& checkpoint, util::HashAlgo algo) {
  const std::string dir = model::resolve_model_dir(checkpoint);
  const std::string w = (fs::path(dir) / "model.safetensors").string();
  HLD_INPUT_CHECK(fs::exists(w), "teacher.checkpoint '" + checkpoint + "': no model.safetensors in '" + dir + "'");
  return util::file_checksum(w, algo).str();
}

std::string split_checksum(const data::ShardSet& shards) {
  uint64_t h = util::fnv1a64("hld-split");
  const auto& list = shards.index().at("shards");
  for (const auto& s : list) {
    const std::string c = s.at("checksum").get<std::string>();
    h = util::fnv1a64(c.data(), c.size(), h);
  }
  return util::hex64(h);
}

int64_t run_positions(const config::ExperimentConfig& cfg, const config::ModelConfig& teacher, int world) {
  const budget::BudgetPlan p = budget::plan(cfg, world, &teacher);
  return p.total_steps * p.global_batch;
}

int64_t teacher_objectives_positions(const config::ExperimentConfig& cfg, const config::ModelConfig& teacher,
                                     int world) {
  int64_t most = 0;
  for (const auto& objective : spec::registry()) {
    if (!objective.reads_teacher()) continue;
    config::ExperimentConfig c = cfg;
    c.objective.name = objective.id;
    most = std::max(most, run_positions(c, teacher, world));
  }
  return most;
}

io::CacheSelection make_selection(int64_t positions, uint64_t seed, int64_t num_sequences) {
  io::CacheSelection s;
  if (positions >= num_sequences) return s;  // kind "all"
  s.kind = "prefix";
  s.seed = seed;
  s.positions = positions;
  return s;
}

std::vector<int64_t> selection_rows(const io::CacheSelection& sel, const data::BatchStream& order) {
  std::vector<int64_t> rows;
  if (sel.kind == "all") {
    rows.resize(static_cast<size_t>(order.num_sequences()));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
    return rows;
  }
  HLD_INPUT_CHECK(sel.positions <= order.num_sequences(), "teacher cache: selection exceeds the split");
  rows.reserve(static_cast<size_t>(sel.positions));
  for (int64_t p = 0; p < sel.positions; ++p) rows.push_back(order.sequence_at(static_cast<uint64_t>(p)));
  return rows;
}

io::CacheIndex plan_cache(const config::ExperimentConfig& cfg, const CachePlanOptions& opts) {
  HLD_INPUT_CHECK(!cfg.teacher.checkpoint.empty(),
                  "teacher.checkpoint: cache-teacher runs the teacher, so it needs its weights");
  HLD_INPUT_CHECK(!cfg.teacher.cache.empty(), "teacher.cache: no cache directory configured");
  HLD_INPUT_CHECK(!cfg.data.train.empty(), "data.train: no training shard directory configured");
  HLD_INPUT_CHECK(opts.chunk_rows >= 1 && opts.chunk_rows <= (1 << 20),
                  "--chunk-sequences = " + std::to_string(opts.chunk_rows) + ": expected an integer in [1, 2^20]");
  const config::ModelConfig shape = teacher_shape(cfg);
  const int64_t layer = cfg.teacher_hint_layer(shape);
  HLD_INPUT_CHECK(layer >= 1 && layer <= shape.num_layers,
                  "objective.teacher_layer = " + std::to_string(layer) + ": expected a block index in [1, " +
                      std::to_string(shape.num_layers) + "] (the teacher's depth)");
  // A cache stores the ids the teacher shares with the student (shared_vocab.h): V_S-ids.
  const SharedVocab vocab = shared_vocab(cfg, shape);
  HLD_INPUT_CHECK(cfg.objective.top_k >= 1 && cfg.objective.top_k <= vocab.shared,
                  "objective.top_k = " + std::to_string(cfg.objective.top_k) + ": expected [1, " +
                      std::to_string(vocab.shared) + "] (the teacher's vocabulary)");

  data::BatchStream order(cfg.data.train, 1, cfg.data.context, cfg.run.seed);
  HLD_INPUT_CHECK(order.vocab_size() <= vocab.shared,
                  "data.train: shards use a vocabulary of " + std::to_string(order.vocab_size()) +
                      " tokens, more than the teacher's " + std::to_string(vocab.shared));
  int64_t positions = opts.sequences;
  if (positions <= 0 && cfg.teacher.cache_tokens > 0)
    positions = (cfg.teacher.cache_tokens + cfg.data.context - 1) / cfg.data.context;
  if (positions <= 0) positions = teacher_objectives_positions(cfg, shape, opts.world);
  positions = std::min(positions, order.num_sequences());

  io::CacheIndex ix;
  ix.teacher_checkpoint = cfg.teacher.checkpoint;
  ix.teacher_hash = teacher_weights_hash(cfg.teacher.checkpoint);
  ix.teacher_name = shape.name;
  ix.teacher_layers = shape.num_layers;
  ix.tokenizer_hash = order.tokenizer_hash();
  ix.data_split = cfg.data.train;
  ix.data_tokens = order.num_tokens();
  ix.data_checksum = split_checksum(order.shards());
  ix.data_sequences = order.num_sequences();
  ix.context = cfg.data.context;
  HLD_INPUT_CHECK(opts.version == 2 || opts.version == io::kTeacherCacheVersion,
                  "cache format version " + std::to_string(opts.version) + ": this build writes 2 or " +
                      std::to_string(io::kTeacherCacheVersion));
  ix.version = opts.version;
  // The hint layer (D_T/2 or objective.teacher_layer) and every teacher layer the hidden pairs read.
  const std::string bad = config::check_hidden_pairs(cfg, shape.num_layers);
  HLD_INPUT_CHECK(bad.empty(), bad.substr(0, bad.size() - 1));
  ix.layers = config::teacher_layers_needed(config::resolve_hidden_pairs(cfg, shape.num_layers));
  ix.layers.push_back(layer);
  std::sort(ix.layers.begin(), ix.layers.end());
  ix.layers.erase(std::unique(ix.layers.begin(), ix.layers.end()), ix.layers.end());
  HLD_INPUT_CHECK(
      ix.layers.size() <= static_cast<size_t>(io::kMaxCacheLayers),
      "objective.hidden_pairs: a cache stores at most " + std::to_string(io::kMaxCacheLayers) + " teacher layers");
  HLD_INPUT_CHECK(ix.version >= 3 || ix.layers.size() == 1,
                  "objective.hidden_pairs: cache format version 2 stores one teacher layer");
  ix.layer = ix.version >= 3 ? ix.layers.front() : layer;
  const bool sampled = cfg.teacher.logits == config::TeacherLogits::kSampled;
  HLD_INPUT_CHECK(!sampled || ix.version >= 3, "teacher.logits = sampled: cache format version 2 stores top-k only");
  ix.has_logz = ix.version >= 3;  // the full-vocabulary log-sum-exp at the caching temperature
  // Top-k: raw logits (docs/objectives.md: tail: bucket needs τ = 1); sampled: the draws' temperature.
  ix.logz_temperature = sampled ? cfg.objective.temperature : 1.0;
  ix.logits_kind = sampled ? "sampled" : "topk";
  ix.sample_seed = sampled ? cfg.teacher.sample_seed : 0;
  ix.teacher_vocab_size = vocab.extra() > 0 ? vocab.teacher : 0;
  ix.layout = io::make_layout(vocab.shared, cfg.objective.top_k, shape.hidden_size,
                              io::parse_logits_encoding(cfg.teacher.logits_encoding, "teacher.logits_encoding"),
                              io::parse_hidden_encoding(cfg.teacher.hidden_encoding, "teacher.hidden_encoding"),
                              /*multiset=*/sampled);
  ix.logz_relative = ix.has_logz && ix.layout.logits == io::LogitsEncoding::kLogQ8;  // logq8 keeps z − z_max only
  ix.selection = make_selection(positions, cfg.run.seed, order.num_sequences());
  ix.rows = ix.selection.kind == "all" ? order.num_sequences() : positions;
  ix.chunk_rows = opts.chunk_rows;
  ix.created_by = std::string("hld-train ") + util::version() + " (" + util::git_revision() + ")";
  return ix;
}

}  // namespace hld::teacher
