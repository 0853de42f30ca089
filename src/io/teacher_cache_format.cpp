// Teacher-cache chunk headers, row tables and index.json: serialisation and strict parsing.
#include "hld/io/teacher_cache_format.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "hld/util/hash.h"

namespace hld::io {
namespace {

constexpr char kMagic[8] = {'H', 'L', 'D', 'T', 'C', 'C', 'H', '1'};
// Bounds that keep every size product inside 64 bits (rows · context · record < 2^62).
constexpr uint64_t kMaxRows = uint64_t{1} << 20, kMaxContext = uint64_t{1} << 20, kMaxRecord = uint64_t{1} << 22;

void put_u64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{p[i]} << (8 * i);
  return v;
}

uint64_t parse_hex64(const std::string& s, const std::string& what) {
  HLD_INPUT_CHECK(s.size() == 16 && s.find_first_not_of("0123456789abcdef") == std::string::npos,
                  what + ": expected 16 lowercase hex digits, got '" + s + "'");
  return std::stoull(s, nullptr, 16);
}

/// What to tell the owner of a cache this build cannot read.
std::string rebuild_hint(int64_t version) {
  return "cache format version " + std::to_string(version) + ", this build reads versions " +
         std::to_string(kTeacherCacheOldestVersion) + " to " + std::to_string(kTeacherCacheVersion) +
         "; rebuild it with `hld-train cache-teacher CONFIG` into a new directory (teacher.cache)";
}

/// Typed access to a JSON object's field; InputError naming `what`.`key` when absent or mistyped.
class Fields {
 public:
  Fields(const nlohmann::json& j, std::string what) : j_(j), what_(std::move(what)) {
    HLD_INPUT_CHECK(j_.is_object(), what_ + ": expected a JSON object");
  }
  const nlohmann::json& at(const std::string& key) const {
    auto it = j_.find(key);
    HLD_INPUT_CHECK(it != j_.end(), what_ + ": missing field '" + key + "'");
    return *it;
  }
  std::string str(const std::string& key) const {
    const auto& v = at(key);
    HLD_INPUT_CHECK(v.is_string(), what_ + ": field '" + key + "' must be a string");
    return v.get<std::string>();
  }
  uint64_t u64(const std::string& key) const {
    const auto& v = at(key);
    HLD_INPUT_CHECK(v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0),
                    what_ + ": field '" + key + "' must be a non-negative integer");
    return v.get<uint64_t>();
  }
  int64_t i64(const std::string& key, int64_t lo, int64_t hi) const {
    const uint64_t v = u64(key);
    HLD_INPUT_CHECK(v >= static_cast<uint64_t>(lo) && v <= static_cast<uint64_t>(hi),
                    what_ + ": field '" + key + "' = " + std::to_string(v) + " outside [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + "]");
    return static_cast<int64_t>(v);
  }
  bool boolean(const std::string& key) const {
    const auto& v = at(key);
    HLD_INPUT_CHECK(v.is_boolean(), what_ + ": field '" + key + "' must be true or false");
    return v.get<bool>();
  }
  Fields child(const std::string& key) const { return Fields(at(key), what_ + "." + key); }
  const std::string& what() const { return what_; }

 private:
  const nlohmann::json& j_;
  std::string what_;
};

nlohmann::json identity_json(const CacheIndex& ix) {
  const auto& l = ix.layout;
  return {{"teacher_hash", ix.teacher_hash},
          {"teacher_layers", ix.teacher_layers},
          {"tokenizer_hash", ix.tokenizer_hash},
          {"data_tokens", ix.data_tokens},
          {"data_checksum", ix.data_checksum},
          {"context", ix.context},
          {"layer", ix.layer},
          {"top_k", l.top_k},
          {"vocab_size", l.vocab_size},
          {"hidden_size", l.hidden_size},
          {"logits_encoding", to_string(l.logits)},
          {"hidden_encoding", to_string(l.hidden)},
          {"selection", {{"kind", ix.selection.kind}, {"seed", ix.selection.seed}}},
          {"chunk_rows", ix.chunk_rows}};
}

/// The identity: version 3 adds its fields, so caches of versions 1–2 keep their cache id.
nlohmann::json identity(const CacheIndex& ix) {
  nlohmann::json j = identity_json(ix);
  if (ix.version >= 3) {
    j["layers"] = ix.layers;
    j["logits_kind"] = ix.logits_kind;
    j["logz_temperature"] = ix.has_logz ? nlohmann::json(ix.logz_temperature) : nlohmann::json();
    if (ix.logz_relative) j["logz_reference"] = "record_max";  // (absent: raw, what older writers stored)
    if (ix.logits_kind == "sampled") j["sample_seed"] = ix.sample_seed;
  }
  return j;
}

}  // namespace

ChunkGeometry chunk_geometry(const ChunkHeader& h) {
  ChunkGeometry g;
  g.row_logits_bytes = uint64_t{h.context} * h.logits_record_bytes;
  g.row_hidden_bytes = uint64_t{h.context} * h.hidden_record_bytes;
  g.table_offset = kChunkHeaderBytes;
  g.logits_offset = g.table_offset + h.num_rows * kRowEntryBytes;
  g.hidden_offset = g.logits_offset + h.num_rows * g.row_logits_bytes;
  g.file_bytes = g.hidden_offset + h.num_rows * g.row_hidden_bytes;
  return g;
}

std::string encode_chunk_prefix(const ChunkHeader& h, const std::vector<RowEntry>& rows) {
  std::string s(kMagic, sizeof kMagic);
  put_u32(s, h.version);
  put_u32(s, static_cast<uint32_t>(kChunkHeaderBytes));
  put_u64(s, h.cache_id);
  put_u64(s, h.chunk_index);
  put_u64(s, h.first_row);
  put_u64(s, h.num_rows);
  put_u32(s, h.context);
  put_u32(s, h.logits_record_bytes);
  put_u32(s, h.hidden_record_bytes);
  s.resize(kChunkHeaderBytes, '\0');
  for (const auto& r : rows) {
    put_u64(s, r.seq_id);
    put_u64(s, r.tokens_hash);
    put_u64(s, r.logits_checksum);
    put_u64(s, r.hidden_checksum);
  }
  return s;
}

ChunkHeader parse_chunk_header(const uint8_t* p, size_t n, const std::string& what) {
  HLD_INPUT_CHECK(n >= kChunkHeaderBytes, what + ": truncated (shorter than the 64-byte chunk header)");
  HLD_INPUT_CHECK(std::memcmp(p, kMagic, sizeof kMagic) == 0, what + ": not a teacher-cache chunk (bad magic)");
  const uint32_t version = get_u32(p + 8);
  HLD_INPUT_CHECK(version >= kTeacherCacheOldestVersion && version <= kTeacherCacheVersion,
                  what + ": chunk of " + rebuild_hint(version));
  HLD_INPUT_CHECK(get_u32(p + 12) == kChunkHeaderBytes, what + ": unexpected chunk header size");
  ChunkHeader h;
  h.version = version;
  h.cache_id = get_u64(p + 16);
  h.chunk_index = get_u64(p + 24);
  h.first_row = get_u64(p + 32);
  h.num_rows = get_u64(p + 40);
  h.context = get_u32(p + 48);
  h.logits_record_bytes = get_u32(p + 52);
  h.hidden_record_bytes = get_u32(p + 56);
  for (size_t i = 60; i < kChunkHeaderBytes; ++i) HLD_INPUT_CHECK(p[i] == 0, what + ": non-zero reserved header bytes");
  HLD_INPUT_CHECK(h.num_rows >= 1 && h.num_rows <= kMaxRows && h.context >= 1 && h.context <= kMaxContext &&
                      h.logits_record_bytes <= kMaxRecord && h.hidden_record_bytes <= kMaxRecord &&
                      h.first_row <= (uint64_t{1} << 48) && h.chunk_index <= (uint64_t{1} << 48),
                  what + ": impossible sizes in the chunk header");
  return h;
}

std::vector<RowEntry> parse_row_table(const uint8_t* p, size_t n, uint64_t rows, const std::string& what) {
  HLD_INPUT_CHECK(rows <= kMaxRows && n >= rows * kRowEntryBytes, what + ": truncated row table");
  std::vector<RowEntry> out(rows);
  for (uint64_t r = 0; r < rows; ++r) {
    const uint8_t* e = p + r * kRowEntryBytes;
    out[r] = {get_u64(e), get_u64(e + 8), get_u64(e + 16), get_u64(e + 24)};
  }
  return out;
}

std::string chunk_file_name(int64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "chunk_%05lld.bin", static_cast<long long>(index));
  return buf;
}

uint64_t cache_checksum(const void* data, size_t n, int version) {
  if (version == 2 || version == 3) return util::xxh3_64(data, n);
  if (version == 1) return cache_checksum_v1(data, n);
  throw std::logic_error("cache_checksum: no checksum for cache format version " + std::to_string(version));
}

uint64_t tokens_hash(const int32_t* ids, int64_t context, int version) {
  return cache_checksum(ids, static_cast<size_t>(context) * sizeof(int32_t), version);
}

int64_t CacheIndex::chunk_num_rows(int64_t c) const { return std::min(chunk_rows, rows - chunk_first_row(c)); }

uint64_t CacheIndex::cache_id() const { return util::fnv1a64(identity(*this).dump()); }

int64_t CacheIndex::layer_slot(int64_t m) const {
  if (layers.empty()) return m == layer ? 0 : -1;
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i] == m) return static_cast<int64_t>(i);
  return -1;
}

uint64_t CacheIndex::total_bytes() const {
  uint64_t total = 0;
  for (int64_t c = 0; c < num_chunks(); ++c) {
    ChunkHeader h;
    h.num_rows = static_cast<uint64_t>(chunk_num_rows(c));
    h.context = static_cast<uint32_t>(context);
    h.logits_record_bytes = static_cast<uint32_t>(logits_record_bytes());
    h.hidden_record_bytes = static_cast<uint32_t>(hidden_record_bytes());
    total += chunk_geometry(h).file_bytes;
  }
  return total;
}

std::vector<std::string> identity_differences(const CacheIndex& a, const CacheIndex& b) {
  const nlohmann::json ja = identity(a), jb = identity(b);
  std::vector<std::string> out;
  for (auto it = ja.begin(); it != ja.end(); ++it) {
    const nlohmann::json other = jb.contains(it.key()) ? jb.at(it.key()) : nlohmann::json("(absent)");
    if (other != it.value()) out.push_back(it.key() + ": " + it.value().dump() + " vs " + other.dump());
  }
  for (auto it = jb.begin(); it != jb.end(); ++it)
    if (!ja.contains(it.key())) out.push_back(it.key() + ": (absent) vs " + it.value().dump());
  return out;
}

nlohmann::json to_json(const CacheIndex& ix) {
  const auto& l = ix.layout;
  nlohmann::json chunks = nlohmann::json::array();
  for (const auto& c : ix.chunks)
    chunks.push_back({{"index", c.index},
                      {"file", c.file},
                      {"first_row", c.first_row},
                      {"rows", c.rows},
                      {"bytes", c.bytes},
                      {"checksum", util::hex64(c.checksum)}});
  nlohmann::json j = {
      {"format", "hld-teacher-cache"},
      {"version", ix.version},
      {"cache_id", util::hex64(ix.cache_id())},
      {"teacher",
       {{"checkpoint", ix.teacher_checkpoint},
        {"hash", ix.teacher_hash},
        {"name", ix.teacher_name},
        {"num_layers", ix.teacher_layers}}},
      {"tokenizer_hash", ix.tokenizer_hash},
      {"data",
       {{"split", ix.data_split},
        {"tokens", ix.data_tokens},
        {"checksum", ix.data_checksum},
        {"sequences", ix.data_sequences}}},
      {"context", ix.context},
      {"layer", ix.layer},
      {"top_k", l.top_k},
      {"vocab_size", l.vocab_size},
      {"hidden_size", l.hidden_size},
      {"logits_encoding", to_string(l.logits)},
      {"hidden_encoding", to_string(l.hidden)},
      {"records",
       {{"index_coding", "rice"},
        {"rice_bits", l.rice_bits},
        {"index_bytes", l.index_bytes},
        {"logits_bytes", l.logits_bytes()},
        {"hidden_bytes", l.hidden_bytes},
        {"bytes_per_token", l.bytes_per_token()}}},
      {"selection", {{"kind", ix.selection.kind}, {"seed", ix.selection.seed}, {"positions", ix.selection.positions}}},
      {"rows", ix.rows},
      {"chunk_rows", ix.chunk_rows},
      {"num_chunks", ix.num_chunks()},
      {"complete", ix.complete()},
      {"total_bytes", ix.total_bytes()},
      {"chunks", chunks},
      {"created_by", ix.created_by}};
  if (ix.version >= 3) {
    j["layers"] = ix.layers;
    j["logits_kind"] = ix.logits_kind;
    j["logz"] = ix.has_logz ? nlohmann::json{{"temperature", ix.logz_temperature},
                                             {"bytes", 4},
                                             {"reference", ix.logz_relative ? "record_max" : "raw"}}
                            : nlohmann::json();
    if (ix.logits_kind == "sampled") j["sample_seed"] = ix.sample_seed;
    j["records"]["logits_record_bytes"] = ix.logits_record_bytes();
    j["records"]["hidden_record_bytes"] = ix.hidden_record_bytes();
  }
  if (ix.teacher_vocab_size > l.vocab_size) {
    j["teacher"]["vocab_size"] = ix.teacher_vocab_size;
    const double mean = ix.extra_mass_tokens > 0 ? ix.extra_mass_sum / double(ix.extra_mass_tokens) : 0.0;
    j["extra_vocab_mass"] = {
        {"mean", mean}, {"max", ix.extra_mass_max}, {"sum", ix.extra_mass_sum}, {"tokens", ix.extra_mass_tokens}};
  }
  return j;
}

CacheIndex parse_cache_index(const std::string& text, const std::string& what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(what + ": invalid JSON: " + e.what());
  }
  Fields f(j, what);
  HLD_INPUT_CHECK(f.str("format") == "hld-teacher-cache", what + ": field 'format' is not 'hld-teacher-cache'");
  const int64_t version = f.i64("version", 0, 1 << 20);
  HLD_INPUT_CHECK(version >= kTeacherCacheOldestVersion && version <= kTeacherCacheVersion,
                  what + ": " + rebuild_hint(version));
  CacheIndex ix;
  ix.version = static_cast<int>(version);
  const Fields t = f.child("teacher");
  ix.teacher_checkpoint = t.str("checkpoint");
  ix.teacher_hash = t.str("hash");
  ix.teacher_name = t.str("name");
  ix.teacher_layers = t.i64("num_layers", 1, 1 << 16);
  ix.tokenizer_hash = f.str("tokenizer_hash");
  const Fields d = f.child("data");
  ix.data_split = d.str("split");
  ix.data_tokens = d.u64("tokens");
  ix.data_checksum = d.str("checksum");
  ix.data_sequences = d.i64("sequences", 1, int64_t{1} << 48);
  ix.context = f.i64("context", 1, kMaxContext);
  ix.layer = f.i64("layer", 1, ix.teacher_layers);
  ix.layers = {ix.layer};
  if (version >= 3) {
    const auto& ls = f.at("layers");
    HLD_INPUT_CHECK(ls.is_array() && !ls.empty() && ls.size() <= static_cast<size_t>(kMaxCacheLayers),
                    what + ": field 'layers' must be a non-empty array of at most " + std::to_string(kMaxCacheLayers) +
                        " teacher layers");
    ix.layers.clear();
    for (size_t i = 0; i < ls.size(); ++i) {
      HLD_INPUT_CHECK(ls[i].is_number_integer() && ls[i].get<int64_t>() >= 1 &&
                          ls[i].get<int64_t>() <= ix.teacher_layers &&
                          (ix.layers.empty() || ls[i].get<int64_t>() > ix.layers.back()),
                      what + ": field 'layers' must hold strictly ascending block indices in [1, " +
                          std::to_string(ix.teacher_layers) + "]");
      ix.layers.push_back(ls[i].get<int64_t>());
    }
    HLD_INPUT_CHECK(ix.layer == ix.layers.front(), what + ": field 'layer' must be the first of 'layers'");
    ix.logits_kind = f.str("logits_kind");
    HLD_INPUT_CHECK(ix.logits_kind == "topk" || ix.logits_kind == "sampled",
                    what + ": logits_kind '" + ix.logits_kind + "': expected 'topk' or 'sampled'");
    if (ix.logits_kind == "sampled") ix.sample_seed = f.u64("sample_seed");
    const auto& lz = f.at("logz");
    HLD_INPUT_CHECK(lz.is_null() || lz.is_object(), what + ": field 'logz' must be null or an object");
    ix.has_logz = lz.is_object();
    if (ix.has_logz) {
      const Fields z(lz, what + ".logz");
      HLD_INPUT_CHECK(z.at("temperature").is_number() && z.at("temperature").get<double>() > 0 &&
                          std::isfinite(z.at("temperature").get<double>()),
                      what + ": logz.temperature must be a positive number");
      ix.logz_temperature = z.at("temperature").get<double>();
      HLD_INPUT_CHECK(z.i64("bytes", 0, 64) == 4, what + ": logz.bytes must be 4 (float32)");
      const auto ref = lz.find("reference");  // absent in caches written before it: raw
      HLD_INPUT_CHECK(ref == lz.end() || (ref->is_string() && (*ref == "raw" || *ref == "record_max")),
                      what + ": logz.reference must be 'raw' or 'record_max'");
      ix.logz_relative = ref != lz.end() && *ref == "record_max";
    }
    HLD_INPUT_CHECK(ix.logits_kind != "sampled" || ix.has_logz,
                    what + ": a sampled cache must store the log-sum-exp (field 'logz')");
  }
  const int64_t vocab = f.i64("vocab_size", 1, int64_t{1} << 31);
  if (const auto tv = j.at("teacher").find("vocab_size"); tv != j.at("teacher").end()) {
    HLD_INPUT_CHECK(tv->is_number_integer() && tv->get<int64_t>() > vocab && tv->get<int64_t>() <= (int64_t{1} << 31),
                    what + ": teacher.vocab_size must be an integer above vocab_size");
    ix.teacher_vocab_size = tv->get<int64_t>();
    const Fields m = f.child("extra_vocab_mass");
    HLD_INPUT_CHECK(m.at("sum").is_number() && m.at("max").is_number() && m.at("sum").get<double>() >= 0,
                    what + ": extra_vocab_mass needs numeric 'sum' and 'max'");
    ix.extra_mass_sum = m.at("sum").get<double>();
    ix.extra_mass_max = m.at("max").get<double>();
    ix.extra_mass_tokens = m.i64("tokens", 0, int64_t{1} << 62);
  }
  ix.layout = make_layout(vocab, f.i64("top_k", 1, vocab), f.i64("hidden_size", 1, int64_t{1} << 20),
                          parse_logits_encoding(f.str("logits_encoding"), what + ": logits_encoding"),
                          parse_hidden_encoding(f.str("hidden_encoding"), what + ": hidden_encoding"),
                          /*multiset=*/ix.logits_kind == "sampled");
  const Fields rec = f.child("records");
  HLD_INPUT_CHECK(rec.str("index_coding") == "rice" && rec.i64("rice_bits", 0, 63) == ix.layout.rice_bits &&
                      rec.i64("index_bytes", 0, kMaxRecord) == ix.layout.index_bytes &&
                      rec.i64("logits_bytes", 0, kMaxRecord) == ix.layout.logits_bytes() &&
                      rec.i64("hidden_bytes", 0, kMaxRecord) == ix.layout.hidden_bytes,
                  what +
                      ": record sizes do not match this build's layout for the stated vocabulary, k, width "
                      "and encodings");
  if (version >= 3)
    HLD_INPUT_CHECK(rec.i64("logits_record_bytes", 0, kMaxRecord) == ix.logits_record_bytes() &&
                        rec.i64("hidden_record_bytes", 0, kMaxRecord) == ix.hidden_record_bytes(),
                    what + ": per-token record sizes do not match the stated layers and log-sum-exp");
  const Fields sel = f.child("selection");
  ix.selection.kind = sel.str("kind");
  HLD_INPUT_CHECK(ix.selection.kind == "all" || ix.selection.kind == "prefix",
                  what + ": selection.kind must be 'all' or 'prefix'");
  ix.selection.seed = sel.u64("seed");
  ix.selection.positions = sel.i64("positions", 0, ix.data_sequences);
  ix.rows = f.i64("rows", 1, ix.data_sequences);
  HLD_INPUT_CHECK(ix.selection.kind == "all" ? ix.rows == ix.data_sequences : ix.rows == ix.selection.positions,
                  what + ": 'rows' does not match the selection");
  ix.chunk_rows = f.i64("chunk_rows", 1, kMaxRows);
  const auto& chunks = f.at("chunks");
  HLD_INPUT_CHECK(chunks.is_array() && static_cast<int64_t>(chunks.size()) <= ix.num_chunks(),
                  what + ": 'chunks' must be an array of at most num_chunks entries");
  int64_t prev = -1;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Fields c(chunks[i], what + ".chunks[" + std::to_string(i) + "]");
    CacheChunkEntry e;
    e.index = c.i64("index", 0, ix.num_chunks() - 1);
    HLD_INPUT_CHECK(e.index > prev, c.what() + ": chunk indices must be strictly increasing");
    prev = e.index;
    e.file = c.str("file");
    HLD_INPUT_CHECK(e.file == chunk_file_name(e.index), c.what() + ": file must be " + chunk_file_name(e.index));
    e.first_row = c.i64("first_row", 0, ix.rows);
    e.rows = c.i64("rows", 1, ix.chunk_rows);
    HLD_INPUT_CHECK(e.first_row == ix.chunk_first_row(e.index) && e.rows == ix.chunk_num_rows(e.index),
                    c.what() + ": rows do not match the chunk plan");
    e.bytes = c.u64("bytes");
    e.checksum = parse_hex64(c.str("checksum"), c.what() + ".checksum");
    ix.chunks.push_back(e);
  }
  auto cid = j.find("created_by");
  if (cid != j.end() && cid->is_string()) ix.created_by = cid->get<std::string>();
  return ix;
}

}  // namespace hld::io
