// Teacher-cache chunk headers and index.json: round trips and strict rejection of hostile or
// foreign input with messages naming the field.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

#include "hld/io/teacher_cache_format.h"
#include "hld/util/error.h"

namespace hld::io {
namespace {

CacheIndex sample_index() {
  CacheIndex ix;
  ix.teacher_checkpoint = "runs/teacher";
  ix.teacher_hash = "00112233aabbccdd";
  ix.teacher_name = "tiny";
  ix.teacher_layers = 4;
  ix.tokenizer_hash = "feedfacefeedface";
  ix.data_split = "data/train";
  ix.data_tokens = 12345;
  ix.data_checksum = "0123456789abcdef";
  ix.data_sequences = 771;
  ix.context = 16;
  ix.layer = 2;
  ix.layers = {2};
  ix.has_logz = true;
  ix.layout = make_layout(300, 8, 32, LogitsEncoding::kLogQ8, HiddenEncoding::kDir8);
  ix.selection = {"prefix", 7, 100};
  ix.rows = 100;
  ix.chunk_rows = 32;
  ix.created_by = "test";
  return ix;
}

std::string expect_input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

TEST(TeacherCacheFormat, ChunkPrefixRoundTrips) {
  ChunkHeader h{0x1234, 3, 96, 4, 16, 40, 36};
  std::vector<RowEntry> rows = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}, {13, 14, 15, 16}};
  const std::string s = encode_chunk_prefix(h, rows);
  ASSERT_EQ(s.size(), kChunkHeaderBytes + 4 * kRowEntryBytes);
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const ChunkHeader b = parse_chunk_header(p, s.size(), "c");
  EXPECT_EQ(b.cache_id, h.cache_id);
  EXPECT_EQ(b.chunk_index, 3u);
  EXPECT_EQ(b.first_row, 96u);
  EXPECT_EQ(b.num_rows, 4u);
  EXPECT_EQ(b.context, 16u);
  EXPECT_EQ(b.logits_record_bytes, 40u);
  EXPECT_EQ(b.hidden_record_bytes, 36u);
  const auto t = parse_row_table(p + kChunkHeaderBytes, s.size() - kChunkHeaderBytes, 4, "c");
  EXPECT_EQ(t[2].seq_id, 9u);
  EXPECT_EQ(t[3].hidden_checksum, 16u);
  const auto g = chunk_geometry(b);
  EXPECT_EQ(g.logits_offset, s.size());
  EXPECT_EQ(g.hidden_offset, s.size() + 4 * 16 * 40);
  EXPECT_EQ(g.file_bytes, s.size() + 4 * 16 * (40 + 36));
  EXPECT_EQ(chunk_file_name(42), "chunk_00042.bin");
  EXPECT_EQ(b.version, static_cast<uint32_t>(kTeacherCacheVersion));
  // Format versions 1 and 2 (older caches) still parse and keep their version; others are refused.
  for (uint32_t v : {0u, 1u, 2u, 3u, 4u}) {
    ChunkHeader hv = h;
    hv.version = v;
    const std::string sv = encode_chunk_prefix(hv, rows);
    const auto* pv = reinterpret_cast<const uint8_t*>(sv.data());
    if (v >= 1 && v <= 3) {
      EXPECT_EQ(parse_chunk_header(pv, sv.size(), "c").version, v);
    } else {
      EXPECT_NE(expect_input_error([&] { parse_chunk_header(pv, sv.size(), "c"); }).find("cache-teacher CONFIG"),
                std::string::npos);
    }
  }

  EXPECT_NE(expect_input_error([&] { parse_chunk_header(p, 63, "c.bin"); }).find("truncated"), std::string::npos);
  std::string bad = s;
  bad[0] = 'X';
  EXPECT_NE(expect_input_error([&] {
              parse_chunk_header(reinterpret_cast<const uint8_t*>(bad.data()), bad.size(), "c");
            }).find("magic"),
            std::string::npos);
  bad = s;
  bad[40] = 0, bad[41] = 0, bad[42] = 0, bad[43] = 0x7f;  // absurd row count
  expect_input_error([&] { parse_chunk_header(reinterpret_cast<const uint8_t*>(bad.data()), bad.size(), "c"); });
  expect_input_error([&] { parse_row_table(p + kChunkHeaderBytes, 10, 4, "c"); });
  // Random headers never crash.
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000; ++i) {
    std::string r = s;
    for (int j = 0; j < 4; ++j) r[8 + rng() % 56] = static_cast<char>(rng());
    try {
      const auto hh = parse_chunk_header(reinterpret_cast<const uint8_t*>(r.data()), r.size(), "c");
      (void)chunk_geometry(hh);
    } catch (const InputError&) {
    }
  }
}

TEST(TeacherCacheFormat, IndexRoundTripsAndNamesBadFields) {
  CacheIndex ix = sample_index();
  ix.chunks.push_back({0, "chunk_00000.bin", 0, 32, 9999, 0xabcdef});
  ix.chunks.push_back({3, "chunk_00003.bin", 96, 4, 777, 42});
  EXPECT_EQ(ix.num_chunks(), 4);
  EXPECT_FALSE(ix.complete());
  const std::string text = to_json(ix).dump();
  const CacheIndex b = parse_cache_index(text, "index.json");
  EXPECT_EQ(b.cache_id(), ix.cache_id());
  EXPECT_TRUE(identity_differences(b, ix).empty());
  ASSERT_EQ(b.chunks.size(), 2u);
  EXPECT_EQ(b.chunks[1].checksum, 42u);
  EXPECT_EQ(b.selection.kind, "prefix");
  EXPECT_EQ(b.layout.logits_bytes(), ix.layout.logits_bytes());

  auto with = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(text);
    edit(j);
    return expect_input_error([&] { parse_cache_index(j.dump(), "DIR/index.json"); });
  };
  EXPECT_NE(with([](auto& j) { j.erase("top_k"); }).find("'top_k'"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["layer"] = "two"; }).find("'layer'"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["layer"] = 9; }).find("'layer'"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["records"]["index_bytes"] = 3; }).find("record sizes"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["logits_encoding"] = "fp4"; }).find("logits_encoding"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["chunks"][1]["first_row"] = 5; }).find("chunks[1]"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["chunks"][0]["checksum"] = "xyz"; }).find("checksum"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["chunks"][1]["file"] = "../../etc/passwd"; }).find("file"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["version"] = 99; }).find("version"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["version"] = 0; }).find("into a new directory"), std::string::npos);
  {  // an index of format version 1 is read as such and written back unchanged
    CacheIndex v2 = ix;
    v2.version = 2;
    v2.has_logz = false;
    nlohmann::json j = to_json(v2);
    EXPECT_FALSE(j.contains("layers"));
    j["version"] = 1;
    const CacheIndex v1 = parse_cache_index(j.dump(), "index.json");
    EXPECT_EQ(v1.version, 1);
    EXPECT_EQ(v1.cache_id(), v2.cache_id());  // among versions 1-2 the version is not part of the identity
    EXPECT_EQ(to_json(v1)["version"], 1);
    EXPECT_EQ(v1.layers, std::vector<int64_t>{2});
    EXPECT_FALSE(v1.has_logz);
    EXPECT_EQ(v1.logits_record_bytes(), v1.layout.logits_bytes());
  }
  // Version 3: layers, logits kind and the log-sum-exp are parsed, bounds-checked and identity.
  EXPECT_EQ(b.layers, std::vector<int64_t>{2});
  EXPECT_TRUE(b.has_logz);
  EXPECT_EQ(b.logits_record_bytes(), ix.layout.logits_bytes() + 4);
  EXPECT_EQ(b.logz_temperature, 1.0);
  for (auto bad :
       {nlohmann::json::array(), nlohmann::json{2, 2}, nlohmann::json{9}, nlohmann::json{"x"}, nlohmann::json{3, 1}})
    EXPECT_NE(with([&](auto& j) { j["layers"] = bad; }).find("'layers'"), std::string::npos) << bad;
  EXPECT_NE(with([](auto& j) { j.erase("layers"); }).find("'layers'"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["layers"] = {1, 2}; }).find("first of 'layers'"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["logits_kind"] = "nucleus"; }).find("logits_kind"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["logz"]["bytes"] = 8; }).find("logz"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["logz"]["temperature"] = -1; }).find("logz.temperature"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["logz"] = nullptr; }).find("record sizes"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["records"]["hidden_record_bytes"] = 72; }).find("record sizes"), std::string::npos);
  {
    CacheIndex three = ix;
    three.layers = {1, 2, 4};
    three.layer = 1;
    EXPECT_EQ(three.hidden_record_bytes(), 3 * ix.layout.hidden_bytes);
    EXPECT_EQ(three.layer_slot(4), 2);
    EXPECT_EQ(three.layer_slot(3), -1);
    const CacheIndex back = parse_cache_index(to_json(three).dump(), "index.json");
    EXPECT_EQ(back.layers, three.layers);
    EXPECT_EQ(back.cache_id(), three.cache_id());
    EXPECT_NE(three.cache_id(), ix.cache_id());
    EXPECT_FALSE(identity_differences(ix, three).empty());
  }
  with([](auto& j) { j["rows"] = 101; });
  with([](auto& j) { j["selection"]["kind"] = "random"; });
  expect_input_error([&] { parse_cache_index("{not json", "index.json"); });
  expect_input_error([&] { parse_cache_index("[]", "index.json"); });

  CacheIndex other = ix;
  other.teacher_hash = "ffffffffffffffff";
  other.layer = 3;
  const auto d = identity_differences(ix, other);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NE(d[0].find("layer"), std::string::npos);
  EXPECT_NE(d[1].find("teacher_hash"), std::string::npos);
  EXPECT_NE(other.cache_id(), ix.cache_id());
  other = ix;
  other.chunks.clear();
  other.teacher_checkpoint = "moved/elsewhere";  // informative only
  other.rows = other.selection.positions = 120;  // a longer prefix of the same order
  EXPECT_EQ(other.cache_id(), ix.cache_id());
  EXPECT_TRUE(identity_differences(ix, other).empty());
}

}  // namespace
}  // namespace hld::io
