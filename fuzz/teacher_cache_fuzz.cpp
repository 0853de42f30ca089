// libFuzzer target: the offline teacher cache readers. The first byte picks what the rest feeds
// (byte % 4):
//   0 ('@')  index.json text → io::parse_cache_index (src/io/teacher_cache_format.cpp); an accepted
//            index must survive to_json → parse with the same cache id;
//   1 ('A')  chunk file bytes → io::parse_chunk_header + parse_row_table + chunk_geometry;
//   2 ('B')  a record layout (u32 vocab, u32 k, u32 width, u8 encodings) then records →
//            io::make_layout + decode_logits / decode_hidden (src/io/teacher_cache_codec.cpp);
//            decoded ids must be ascending and in range, values finite, and re-encoding them must
//            decode to the same ids;
//   3 ('C', '?')  a cache directory → teacher::CacheReader (src/teacher/cache_reader.cpp) opening
//            index.json and verify_chunk() on every finished chunk. The rest is index.json and up to
//            4 chunk files separated by "\n--8<--\n"; byte >> 2 holds fix-ups the harness applies
//            first so the fuzzer gets past the checksums to the record decoding: bit 0 sizes each
//            chunk as the index's layout needs, bit 1 rewrites its 64-byte header, bit 2 recomputes
//            the row checksums, bit 3 lists the chunks in index.json with their sizes and
//            checksums ('?' = all four, 'C' = none).
// cache_plan.cpp, which cache_reader.cpp calls from attach() only, includes LibTorch headers: it is
// not linked here (the reader is never attached, so rows are not matched to sequences).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "hld/io/teacher_cache_codec.h"
#include "hld/io/teacher_cache_format.h"
#include "hld/teacher/cache_plan.h"
#include "hld/teacher/cache_reader.h"

using namespace hld;

namespace hld::teacher {
// The one symbol cache_reader.cpp needs from cache_plan.cpp (only from attach(), never called here).
std::vector<int64_t> selection_rows(const io::CacheSelection&, const data::BatchStream&) {
  fuzz::finding("selection_rows called: the fuzz target never attaches a reader");
}
}  // namespace hld::teacher

namespace {

constexpr size_t kMaxChunks = 4;

uint32_t get_u32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

void fuzz_index(const std::string& text) {
  const io::CacheIndex ix = io::parse_cache_index(text, "fuzz/index.json");
  io::CacheIndex again;
  try {
    again = io::parse_cache_index(io::to_json(ix).dump(), "rewritten index.json");
  } catch (const InputError& e) {
    fuzz::finding(std::string("an accepted index does not parse back: ") + e.what());
  }
  if (again.cache_id() != ix.cache_id() || again.chunks.size() != ix.chunks.size())
    fuzz::finding("an accepted index changes when written back");
}

void fuzz_chunk_prefix(const uint8_t* p, size_t n) {
  const io::ChunkHeader h = io::parse_chunk_header(p, n, "fuzz/chunk_00000.bin");
  const io::ChunkGeometry g = io::chunk_geometry(h);
  if (g.file_bytes < g.hidden_offset || g.hidden_offset < g.logits_offset) fuzz::finding("chunk geometry overflows");
  io::parse_row_table(p + io::kChunkHeaderBytes, n - io::kChunkHeaderBytes, h.num_rows, "fuzz/chunk_00000.bin");
}

void fuzz_records(const uint8_t* p, size_t n) {
  if (n < 13) return;
  const auto le = (p[12] & 1) ? io::LogitsEncoding::kLogQ8 : io::LogitsEncoding::kBf16;
  const auto he = (p[12] & 2) ? io::HiddenEncoding::kDir8 : io::HiddenEncoding::kBf16;
  const io::CacheLayout l = io::make_layout(get_u32(p), get_u32(p + 4), get_u32(p + 8), le, he);
  p += 13, n -= 13;
  const auto k = static_cast<size_t>(l.top_k), d = static_cast<size_t>(l.hidden_size);
  if (static_cast<uint64_t>(l.logits_bytes()) <= n) {
    std::vector<float> vals(k);
    std::vector<int64_t> idx(k);
    if (io::decode_logits(l, p, vals.data(), idx.data())) {
      for (size_t j = 0; j < k; ++j) {
        if (idx[j] < 0 || idx[j] >= l.vocab_size || (j > 0 && idx[j] <= idx[j - 1]))
          fuzz::finding("decoded ids not ascending in [0, vocab)");
        if (!std::isfinite(vals[j])) fuzz::finding("decoded logit not finite");
      }
      std::vector<uint8_t> rec(static_cast<size_t>(l.logits_bytes()));
      io::encode_logits(l, vals.data(), idx.data(), rec.data());
      std::vector<float> vals2(k);
      std::vector<int64_t> idx2(k);
      if (!io::decode_logits(l, rec.data(), vals2.data(), idx2.data()) || idx2 != idx)
        fuzz::finding("re-encoded logits record decodes to other ids");
      if (l.logits == io::LogitsEncoding::kBf16 && vals2 != vals) fuzz::finding("re-encoded bf16 values differ");
    }
  }
  if (static_cast<uint64_t>(l.logits_bytes() + l.hidden_bytes) <= n) {
    std::vector<float> h(d);
    if (io::decode_hidden(l, p + l.logits_bytes(), h.data()))
      for (float x : h)
        if (!std::isfinite(x)) fuzz::finding("decoded hidden value not finite");
  }
}

// The chunk header and geometry chunk `c` of `ix` must have.
io::ChunkHeader expected_header(const io::CacheIndex& ix, int64_t c) {
  io::ChunkHeader h;
  h.cache_id = ix.cache_id();
  h.chunk_index = static_cast<uint64_t>(c);
  h.first_row = static_cast<uint64_t>(ix.chunk_first_row(c));
  h.num_rows = static_cast<uint64_t>(ix.chunk_num_rows(c));
  h.context = static_cast<uint32_t>(ix.context);
  h.logits_record_bytes = static_cast<uint32_t>(ix.layout.logits_bytes());
  h.hidden_record_bytes = static_cast<uint32_t>(ix.layout.hidden_bytes);
  h.version = static_cast<uint32_t>(ix.version);
  return h;
}

void put_u64(std::string& s, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}

void fuzz_directory(unsigned fixups, std::string_view rest) {
  const auto parts = fuzz::split_files(rest, 1 + kMaxChunks);
  std::string index(parts[0]);
  std::vector<std::string> chunks;
  for (size_t c = 0; c < kMaxChunks; ++c) chunks.emplace_back(parts[1 + c]);
  if (fixups != 0) {
    io::CacheIndex ix;
    try {
      ix = io::parse_cache_index(index, "fuzz/index.json");
    } catch (const InputError&) {
      return;  // mode 0 covers the index parser
    }
    std::vector<io::CacheChunkEntry> listed;
    for (int64_t c = 0; c < std::min<int64_t>(ix.num_chunks(), kMaxChunks); ++c) {
      std::string& ch = chunks[static_cast<size_t>(c)];
      const io::ChunkHeader h = expected_header(ix, c);
      const io::ChunkGeometry g = io::chunk_geometry(h);
      if (g.file_bytes > (uint64_t{1} << 22)) return;  // keep iterations fast
      if (fixups & 1) ch.resize(g.file_bytes, '\0');
      if ((fixups & 2) && ch.size() >= io::kChunkHeaderBytes)
        ch.replace(0, io::kChunkHeaderBytes, io::encode_chunk_prefix(h, {}));
      if ((fixups & 4) && ch.size() >= g.file_bytes)
        for (uint64_t r = 0; r < h.num_rows; ++r) {
          const size_t at = io::kChunkHeaderBytes + r * io::kRowEntryBytes;
          put_u64(ch, at + 16, io::cache_checksum(ch.data() + g.logits_at(r), g.row_logits_bytes, ix.version));
          put_u64(ch, at + 24, io::cache_checksum(ch.data() + g.hidden_at(r), g.row_hidden_bytes, ix.version));
        }
      if (fixups & 8)
        listed.push_back({c, io::chunk_file_name(c), ix.chunk_first_row(c), ix.chunk_num_rows(c), ch.size(),
                          io::cache_checksum(ch.data(), std::min<uint64_t>(ch.size(), g.logits_offset), ix.version)});
    }
    if (fixups & 8) {
      ix.chunks = listed;
      index = io::to_json(ix).dump(1);
    }
  }
  fuzz::write_bytes(fuzz::scratch_path("index.json"), index);
  for (size_t c = 0; c < kMaxChunks; ++c)
    fuzz::write_bytes(fuzz::scratch_path(io::chunk_file_name(static_cast<int64_t>(c))), chunks[c]);
  teacher::CacheReader reader(fuzz::scratch_dir());
  for (const auto& c : reader.index().chunks) reader.verify_chunk(c.index);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0] % 4, fixups = (data[0] >> 2) & 15;
  const uint8_t* p = data + 1;
  const size_t n = size - 1;
  fuzz::expect_only_input_errors([&] {
    switch (mode) {
      case 0:
        fuzz_index(std::string(reinterpret_cast<const char*>(p), n));
        break;
      case 1:
        fuzz_chunk_prefix(p, n);
        break;
      case 2:
        fuzz_records(p, n);
        break;
      default:
        fuzz_directory(fixups, std::string_view(reinterpret_cast<const char*>(p), n));
        break;
    }
  });
  return 0;
}
