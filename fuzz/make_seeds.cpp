// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) with the project's own
// writers, so every seed is a file hld-train itself would produce or accept:
//   build-fuzz/fuzz/make_seeds fuzz/corpus
// safetensors: build_safetensors_header; teacher cache: make_layout / encode_* / to_json /
// encode_chunk_prefix (what cache-teacher writes); shards: ShardWriter; configs and eval-task
// files: copied from configs/ and tests/data/ (HLD_SOURCE_DIR), prefixed as the targets expect.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "hld/data/shards.h"
#include "hld/io/safetensors_format.h"
#include "hld/io/teacher_cache_codec.h"
#include "hld/io/teacher_cache_format.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;
using namespace hld;

namespace {

std::string g_out;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = fs::path(g_out) / target;
  fs::create_directories(dir);
  fuzz::write_bytes((dir / name).string(), bytes);
}

std::string repo(const std::string& rel) { return util::read_file(std::string(HLD_SOURCE_DIR) + "/" + rel); }

std::string join(const std::vector<std::string>& files) {
  std::string s;
  for (size_t i = 0; i < files.size(); ++i) s += (i ? std::string(fuzz::kFileSeparator) : "") + files[i];
  return s;
}

// ---- safetensors -------------------------------------------------------------------------------
std::string safetensors(std::map<std::string, io::TensorEntry> t, const std::map<std::string, std::string>& meta) {
  std::string s = io::build_safetensors_header(t, meta);
  uint64_t bytes = 0;
  for (const auto& [n, e] : t) bytes = std::max(bytes, e.end);
  for (uint64_t i = 0; i < bytes; ++i) s.push_back(static_cast<char>(i * 37 + 11));
  return s;
}

void safetensors_seeds() {
  using io::DType;
  seed("safetensors_fuzz", "gemma_like.safetensors",
       safetensors({{"model.embed_tokens.weight", {DType::kF32, {6, 4}}},
                    {"model.norm.weight", {DType::kBF16, {4}}},
                    {"model.layers.0.self_attn.q_proj.weight", {DType::kF16, {4, 4}}},
                    {"model.layers.0.mlp.gate_proj.weight", {DType::kBF16, {8, 4}}}},
                   {{"format", "pt"}}));
  std::map<std::string, io::TensorEntry> all;
  for (DType d : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI32, DType::kI16,
                  DType::kI8, DType::kU8, DType::kU16, DType::kU32, DType::kBool})
    all[std::string("t_") + io::dtype_name(d)] = {d, {2, 1}};
  all["scalar"] = {DType::kF32, {}};
  all["empty"] = {DType::kF32, {0, 3}};
  seed("safetensors_fuzz", "all_dtypes.safetensors", safetensors(all, {}));
  seed("safetensors_fuzz", "input_ids.safetensors", safetensors({{"input_ids", {DType::kI64, {1, 5}}}}, {}));
  seed("safetensors_fuzz", "no_tensors.safetensors", safetensors({}, {{"note", "empty"}}));
}

// ---- teacher cache -----------------------------------------------------------------------------
struct Cache {
  io::CacheIndex ix;
  std::vector<std::string> chunks;
};

Cache make_cache(io::LogitsEncoding le, io::HiddenEncoding he, bool prefix) {
  std::mt19937 rng(7);
  Cache c;
  io::CacheIndex& ix = c.ix;
  ix.teacher_checkpoint = "runs/teacher";
  ix.teacher_hash = "00112233aabbccdd";
  ix.teacher_name = "tiny";
  ix.teacher_layers = 4;
  ix.tokenizer_hash = "feedfacefeedface";
  ix.data_split = "data/train";
  ix.data_tokens = 40;
  ix.data_checksum = "0123456789abcdef";
  ix.data_sequences = 9;
  ix.context = 4;
  ix.layer = 2;
  ix.layout = io::make_layout(300, 8, 16, le, he);
  ix.selection = prefix ? io::CacheSelection{"prefix", 7, 5} : io::CacheSelection{};
  ix.rows = prefix ? 5 : 9;
  ix.chunk_rows = 2;
  ix.created_by = "fuzz/make_seeds";
  const auto& l = ix.layout;
  for (int64_t ci = 0; ci < std::min<int64_t>(ix.num_chunks(), 4); ++ci) {
    io::ChunkHeader h{ix.cache_id(),
                      static_cast<uint64_t>(ci),
                      static_cast<uint64_t>(ix.chunk_first_row(ci)),
                      static_cast<uint64_t>(ix.chunk_num_rows(ci)),
                      static_cast<uint32_t>(ix.context),
                      static_cast<uint32_t>(l.logits_bytes()),
                      static_cast<uint32_t>(l.hidden_bytes)};
    const io::ChunkGeometry g = io::chunk_geometry(h);
    std::string logits, hidden;
    std::vector<io::RowEntry> rows;
    for (uint64_t r = 0; r < h.num_rows; ++r) {
      std::string lg(static_cast<size_t>(g.row_logits_bytes), '\0'), hd(static_cast<size_t>(g.row_hidden_bytes), '\0');
      for (int64_t t = 0; t < ix.context; ++t) {
        std::vector<float> vals(static_cast<size_t>(l.top_k)), hv(static_cast<size_t>(l.hidden_size));
        std::vector<int64_t> idx(static_cast<size_t>(l.top_k));
        for (int64_t j = 0; j < l.top_k; ++j) {
          idx[j] = j * 37 + static_cast<int64_t>(rng() % 37);
          vals[j] = std::normal_distribution<float>(0, 3)(rng);
        }
        for (auto& x : hv) x = std::normal_distribution<float>(0, 1)(rng);
        io::encode_logits(l, vals.data(), idx.data(), reinterpret_cast<uint8_t*>(lg.data()) + t * l.logits_bytes());
        io::encode_hidden(l, hv.data(), reinterpret_cast<uint8_t*>(hd.data()) + t * l.hidden_bytes);
      }
      rows.push_back({h.first_row + r, 1000 + r, io::cache_checksum(lg.data(), lg.size()),
                      io::cache_checksum(hd.data(), hd.size())});
      logits += lg;
      hidden += hd;
    }
    const std::string prefix_bytes = io::encode_chunk_prefix(h, rows);
    const std::string file = prefix_bytes + logits + hidden;
    ix.chunks.push_back({ci, io::chunk_file_name(ci), ix.chunk_first_row(ci), ix.chunk_num_rows(ci), file.size(),
                         io::cache_checksum(prefix_bytes.data(), prefix_bytes.size())});
    c.chunks.push_back(file);
  }
  return c;
}

std::string u32le(uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

void teacher_cache_seeds() {
  using io::HiddenEncoding;
  using io::LogitsEncoding;
  const Cache a = make_cache(LogitsEncoding::kBf16, HiddenEncoding::kBf16, false);
  const Cache b = make_cache(LogitsEncoding::kLogQ8, HiddenEncoding::kDir8, true);
  seed("teacher_cache_fuzz", "index_all_bf16.json", "@" + io::to_json(a.ix).dump(1));
  seed("teacher_cache_fuzz", "index_prefix_logq8.json", "@" + io::to_json(b.ix).dump(1));
  seed("teacher_cache_fuzz", "chunk_bf16.bin", "A" + a.chunks[0]);
  seed("teacher_cache_fuzz", "chunk_logq8.bin", "A" + b.chunks[0]);
  for (const Cache* c : {&a, &b}) {
    const auto& l = c->ix.layout;
    const uint8_t enc = (l.logits == LogitsEncoding::kLogQ8 ? 1 : 0) | (l.hidden == HiddenEncoding::kDir8 ? 2 : 0);
    // One token's records from the chunk: logits at logits_offset, hidden at hidden_offset.
    io::ChunkHeader h{0,
                      0,
                      0,
                      1,
                      static_cast<uint32_t>(c->ix.context),
                      static_cast<uint32_t>(l.logits_bytes()),
                      static_cast<uint32_t>(l.hidden_bytes)};
    h.num_rows = static_cast<uint64_t>(c->ix.chunk_num_rows(0));
    const io::ChunkGeometry g = io::chunk_geometry(h);
    const std::string rec =
        c->chunks[0].substr(g.logits_offset, l.logits_bytes()) + c->chunks[0].substr(g.hidden_offset, l.hidden_bytes);
    seed("teacher_cache_fuzz", std::string("records_") + io::to_string(l.logits) + "_" + io::to_string(l.hidden),
         "B" + u32le(300) + u32le(8) + u32le(16) + std::string(1, static_cast<char>(enc)) + rec);
    std::vector<std::string> files = {io::to_json(c->ix).dump(1)};
    files.insert(files.end(), c->chunks.begin(), c->chunks.end());
    const std::string tag = std::string(io::to_string(l.logits)) + "_" + io::to_string(l.hidden);
    seed("teacher_cache_fuzz", "dir_fixups_" + tag, "?" + join(files));
    seed("teacher_cache_fuzz", "dir_raw_" + tag, "C" + join(files));
  }
}

// ---- token shards ------------------------------------------------------------------------------
void shard_seed(const std::string& name, int64_t vocab, int64_t shard_tokens) {
  const fs::path dir = fs::temp_directory_path() / ("hld-make-seeds-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    data::ShardWriter w(dir.string(), "train", "feedfacefeedface", vocab, 1, shard_tokens);
    std::mt19937 rng(3);
    for (int d = 0; d < 6; ++d) {
      std::vector<int32_t> ids(3 + d);
      for (auto& x : ids) x = 4 + static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab - 4));
      w.add_document(ids, "corpus.txt");
    }
    w.finish({{"sources", {"corpus.txt"}}});
  }
  auto rd = [&](const std::string& f) { return fs::exists(dir / f) ? util::read_file((dir / f).string()) : ""; };
  seed("shard_fuzz", name,
       join({rd("index.json"), rd("shard_00000.json"), rd("shard_00000.bin"), rd("shard_00001.json"),
             rd("shard_00001.bin")}));
  fs::remove_all(dir);
}

// ---- configs and eval tasks --------------------------------------------------------------------
void config_seeds() {
  auto name_of = [](const fs::path& f) { return f.parent_path().filename().string() + "_" + f.filename().string(); };
  for (const char* f : {"configs/quickstart/base.yaml", "configs/quickstart/student.yaml",
                        "configs/quickstart/teacher.yaml", "configs/paper/common.yaml", "configs/eval/tasks.yaml"})
    seed("config_fuzz", name_of(f), repo(f));
  // configs/paper/*_base.yaml name common.yaml next to them: point that at configs/paper/.
  for (const char* f : {"configs/paper/student_123m_base.yaml", "configs/paper/student_735m_base.yaml"})
    seed("config_fuzz", name_of(f),
         std::regex_replace(repo(f), std::regex("base: *common.yaml"), "base: ../paper/common.yaml"));
  // Model files are mappings under `model:` (and `teacher.model:`) in an experiment config.
  auto indent = [](const std::string& text) { return "  " + std::regex_replace(text, std::regex("\n(?=.)"), "\n  "); };
  seed("config_fuzz", "inline_models.yaml",
       "base: base.yaml\nmodel:\n" + indent(repo("configs/models/student_123m.yaml")) + "teacher:\n  model:\n" +
           indent(indent(repo("configs/models/teacher_4b.yaml"))) + "objective: {name: hldf, p1: 0.3}\n");
  // Relative includes resolve against configs/quickstart/ (the target's base directory).
  seed("config_fuzz", "with_overrides.yaml",
       "base: base.yaml\nmodel: ../models/student_123m.yaml\nobjective: {name: kd, alpha: 0.5}\n"
       "#set optimizer.lr=3e-4\n#set teacher.model.num_layers=6\n#set data.batch_size=8\n");
  seed("config_fuzz", "hf_config.json", repo("tests/data/hf_gemma3_tiny/config.json"));
}

void eval_seeds() {
  const std::string d = "tests/data/eval/";
  seed("eval_tasks_fuzz", "hellaswag.jsonl", "0" + repo(d + "hellaswag_val.jsonl"));
  seed("eval_tasks_fuzz", "piqa.jsonl", "1" + join({repo(d + "piqa_valid.jsonl"), repo(d + "piqa_valid-labels.lst")}));
  seed("eval_tasks_fuzz", "arc_ai2.jsonl", "2" + repo(d + "ARC-Easy-Test.jsonl"));
  seed("eval_tasks_fuzz", "arc_hf.jsonl",
       "2{\"id\": \"x\", \"question\": \"Which is a source of light?\", \"choices\": {\"text\": [\"the Moon\", "
       "\"the Sun\"], \"label\": [\"A\", \"B\"]}, \"answerKey\": \"B\"}\n");
  seed("eval_tasks_fuzz", "winogrande.jsonl", "3" + repo(d + "winogrande_dev.jsonl"));
  seed("eval_tasks_fuzz", "lambada.jsonl", "4" + repo(d + "lambada_test.jsonl"));
  seed("eval_tasks_fuzz", "wiki.test.raw", "5" + repo(d + "wiki.test.raw"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR (fuzz/corpus)\n", argv[0]);
    return 2;
  }
  g_out = argv[1];
  safetensors_seeds();
  teacher_cache_seeds();
  shard_seed("split_uint16", 300, 20);
  shard_seed("split_uint32", 70000, 1000);
  config_seeds();
  eval_seeds();
  std::printf("seeds written under %s\n", g_out.c_str());
  return 0;
}
