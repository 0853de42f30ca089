// The teacher cache end to end on a tiny random teacher: cached signals equal the online
// teacher's (bf16 rounding aside), compact encodings stay within their error targets, and every
// mismatch, corruption, truncation and interruption is handled as the issue asks.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "cache_test_util.h"
#include "hld/data/batch_stream.h"
#include "hld/io/teacher_cache_codec.h"
#include "hld/objectives/losses.h"
#include "hld/objectives/objective.h"
#include "hld/teacher/cache_plan.h"
#include "hld/teacher/cache_reader.h"
#include "hld/teacher/cache_source.h"
#include "hld/teacher/cache_verify.h"
#include "hld/teacher/cache_writer.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "hld/util/hash.h"

namespace fs = std::filesystem;

namespace hld::teacher {
namespace {

using testing::CacheWorld;
using testing::input_error;
using testing::kAll;
using testing::write_cache;

/// Sorts each row's (idx, vals) by index so online and cached signals line up.
std::pair<torch::Tensor, torch::Tensor> by_index(const torch::Tensor& vals, const torch::Tensor& idx) {
  auto s = idx.sort(-1);
  return {vals.gather(1, std::get<1>(s)), std::get<0>(s)};
}

torch::Tensor bf16(const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kFloat32); }

TEST(TeacherCache, ServesWhatTheOnlineTeacherComputesUpToBf16Rounding) {
  CacheWorld w;
  const auto cfg = w.config("hldc", "cache");
  const auto r = write_cache(cfg);
  ASSERT_TRUE(r.index.complete());
  EXPECT_EQ(r.index.selection.kind, "all");
  EXPECT_EQ(r.index.layer, 2);  // D_T / 2
  EXPECT_EQ(r.chunks_written, r.index.num_chunks());
  auto cached = make_teacher(cfg, torch::kCPU);
  auto online = make_teacher(w.config("hldc", "online"), torch::kCPU);
  EXPECT_EQ(cached->model_config().hidden_size, 32);

  data::BatchStream stream(cfg.data.train, 4, cfg.data.context, cfg.run.seed);
  const spec::Needs needs{true, true};
  for (int step = 0; step < 20; ++step) {  // more than one epoch
    std::vector<int32_t> toks;
    std::vector<int64_t> ids;
    stream.next(toks, ids);
    auto t = torch::from_blob(toks.data(), {4, 17}, torch::kInt32).to(torch::kInt64).narrow(1, 0, 16).contiguous();
    const auto a = online->signals(t, ids, needs);
    const auto b = cached->signals(t, ids, needs);
    auto [av, ai] = by_index(a.vals_NxK, a.idx_NxK);
    // The cache keeps the top-k by bf16 value, lower id first (teacher::cache_top_k, so that a
    // k_max cache serves smaller k bitwise); the online top-k is by float value. They differ only
    // where the k-th logit ties in bf16 with the next: there the cut value is the same.
    const auto same = (ai == b.idx_NxK).all(1);
    EXPECT_GE(same.to(torch::kFloat64).mean().item<double>(), 0.85) << "step " << step;
    const auto cut_online = bf16(std::get<0>(a.vals_NxK.min(1))), cut_cached = std::get<0>(b.vals_NxK.min(1));
    EXPECT_TRUE(torch::equal(cut_online.index({~same}), cut_cached.index({~same}))) << "step " << step;
    av = av.index({same}), ai = ai.index({same});
    const auto bv = b.vals_NxK.index({same});
    // Same computation up to float rounding, then bf16 rounding of the stored values.
    EXPECT_TRUE(torch::allclose(bf16(av), bv, 1e-2, 1e-2));
    EXPECT_LE((av - bv).abs().max().item<double>(), av.abs().max().item<double>() / 200);
    ASSERT_EQ(a.hidden_NxD.size(), 1u);
    ASSERT_EQ(b.hidden_NxD.size(), 1u);
    EXPECT_TRUE(torch::allclose(bf16(a.hidden_NxD[0]), b.hidden_NxD[0], 1e-2, 1e-2));
    EXPECT_EQ(b.hidden_NxD[0].sizes(), a.hidden_NxD[0].sizes());
    // Only what is asked for.
    const auto h = cached->signals(t, ids, {false, true});
    EXPECT_FALSE(h.vals_NxK.defined());
    EXPECT_TRUE(torch::equal(h.hidden_NxD.at(0), b.hidden_NxD[0]));
  }
}

TEST(TeacherCache, CompactEncodingsMeetTheirErrorAndSizeTargets) {
  CacheWorld w;
  const auto cfg = w.config("kd", "cache", {"teacher.logits_encoding=logq8", "teacher.hidden_encoding=dir8"});
  const auto r = write_cache(cfg);
  const auto& l = r.index.layout;
  // k = 8 of V = 256: Rice b = 4 → 8·5 + 15 = 55 bits = 7 bytes; values 8 + 4; hidden d + 4.
  EXPECT_EQ(l.index_bytes, 7);
  EXPECT_EQ(l.logits_bytes(), 7 + 8 + 4);
  EXPECT_EQ(l.hidden_bytes, 32 + 4);
  VerifyOptions vo;
  vo.sample_sequences = 8;
  const auto rep = verify_teacher_cache(cfg, vo);
  ASSERT_TRUE(rep.ok()) << rep.to_json().dump(2);
  EXPECT_EQ(rep.chunks_ok, r.index.num_chunks());
  EXPECT_EQ(rep.topk_same_set, 1.0);
  EXPECT_LT(rep.kd_rel_diff, 1e-3) << rep.to_json().dump(2);
  EXPECT_LT(rep.kd_self_rel_diff, 1e-2) << rep.to_json().dump(2);
  EXPECT_GE(rep.hidden_cos_min, 0.999);
  // On disk: records plus a 32-byte row entry per 16 tokens and a 64-byte header per chunk.
  // (format 3: + 4 bytes of log-sum-exp per token)
  const double record = double(r.index.logits_record_bytes() + r.index.hidden_record_bytes());
  EXPECT_EQ(record, double(l.bytes_per_token() + 4));
  EXPECT_GT(rep.bytes_per_token, record);
  EXPECT_LT(rep.bytes_per_token, record + 3.0);
  std::printf(
      "[ measured ] logq8/dir8 on the synthetic split: KD rel. diff %.3g (teacher as student %.3g), "
      "hidden cosine min %.6f, %.2f B/token\n",
      rep.kd_rel_diff, rep.kd_self_rel_diff, rep.hidden_cos_min, rep.bytes_per_token);
}

TEST(TeacherCache, RefusesACacheThatDoesNotMatchTheRunNamingTheField) {
  CacheWorld w;
  const auto cfg = w.config("hldc", "cache");
  write_cache(cfg);
  auto err = [&](std::vector<std::string> sets) {
    return input_error([&] { make_teacher(w.config("hldc", "cache", std::move(sets)), torch::kCPU); });
  };
  EXPECT_NE(err({"objective.teacher_layer=1"}).find("'layer'"), std::string::npos);
  make_teacher(w.config("hldc", "cache", {"objective.top_k=4"}), torch::kCPU);  // k <= k_max: served
  const std::string ek = err({"objective.top_k=16"});
  EXPECT_NE(ek.find("objective.top_k = 16 exceeds the k_max = 8"), std::string::npos) << ek;
  EXPECT_NE(ek.find(w.cache), std::string::npos) << ek;
  EXPECT_NE(err({"data.context=8"}).find("'context'"), std::string::npos);
  // Another teacher of the same shape: only the weights hash tells them apart.
  testing::save_random_teacher(w.tmp / "other_teacher", 256, 32, 4, 99, 0.5);
  const std::string e = err({"teacher.checkpoint=" + (w.tmp / "other_teacher")});
  EXPECT_NE(e.find("'teacher.hash'"), std::string::npos) << e;
  EXPECT_NE(e.find("teacher.checkpoint"), std::string::npos) << e;
  // The same token stream under another tokenizer.
  testing::write_synthetic_split(w.tmp / "other/train", 256, 36, "0123456789abcdef");
  EXPECT_NE(err({"data.train=" + (w.tmp / "other/train")}).find("'tokenizer_hash'"), std::string::npos);
  // Other data, same tokenizer.
  testing::write_synthetic_split(w.tmp / "more/train", 256, 37, "feedfacefeedface");
  EXPECT_NE(err({"data.train=" + (w.tmp / "more/train")}).find("'data'"), std::string::npos);
  // Without teacher.checkpoint the shape is still compared.
  auto shape_only = cfg;
  shape_only.teacher.checkpoint.clear();
  shape_only.teacher.model = shape_only.model;
  shape_only.teacher.model->hidden_size = 24;
  shape_only.teacher.model->num_layers = 4;
  EXPECT_NE(input_error([&] { make_teacher(shape_only, torch::kCPU); }).find("'hidden_size'"), std::string::npos);
  // A prefix cache serves only its own seed and length.
  const auto small = w.config("kd", "cache", {"teacher.cache=" + (w.tmp / "prefix")}, 2);
  const auto r = write_cache(small, 4, /*sequences: 2 steps x 4*/ 8);
  ASSERT_EQ(r.index.selection.kind, "prefix");
  EXPECT_EQ(r.index.rows, 8);
  make_teacher(small, torch::kCPU);  // exactly covered
  const auto longer = w.config("kd", "cache", {"teacher.cache=" + (w.tmp / "prefix")}, 3);
  EXPECT_NE(input_error([&] { make_teacher(longer, torch::kCPU); }).find("'selection.positions'"), std::string::npos);
  const auto reseeded = w.config("kd", "cache", {"teacher.cache=" + (w.tmp / "prefix"), "run.seed=4"}, 2);
  EXPECT_NE(input_error([&] { make_teacher(reseeded, torch::kCPU); }).find("'selection.seed'"), std::string::npos);
  // A different cache configuration in an existing cache directory.
  const auto e2 = input_error([&] { write_cache(w.config("hldc", "cache", {"objective.teacher_layer=3"})); });
  EXPECT_NE(e2.find("layer"), std::string::npos) << e2;
  // Not a cache at all.
  EXPECT_NE(err({"teacher.cache=" + w.tmp.path()}).find("index.json"), std::string::npos);
}

TEST(TeacherCache, DetectsCorruptTruncatedAndMissingChunks) {
  CacheWorld w;
  const auto cfg = w.config("hldc", "cache");
  const auto r = write_cache(cfg);
  const std::string c1 = w.cache + "/chunk_00001.bin";
  const auto bytes = fs::file_size(c1);
  auto flip = [](const std::string& p, uint64_t off) {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(off));
    char c;
    f.read(&c, 1);
    c ^= 0x04;
    f.seekp(static_cast<std::streamoff>(off));
    f.write(&c, 1);
  };
  // All rows of chunk 1 through the reader: the flipped one fails, with the file named.
  auto read_all = [&] {
    CacheReader rd(w.cache);
    data::BatchStream order(cfg.data.train, 1, 16, cfg.run.seed);
    rd.attach(order);
    std::string lg, hd;
    for (int64_t row = 16; row < 32; ++row) rd.read_raw(row, &lg, &hd);
  };
  read_all();
  flip(c1, bytes - 100);  // hidden block of the last row
  std::string e = input_error(read_all);
  EXPECT_NE(e.find("chunk_00001.bin"), std::string::npos);
  EXPECT_NE(e.find("checksum"), std::string::npos);
  VerifyOptions vo;
  vo.sample_sequences = 0;
  auto rep = verify_teacher_cache(cfg, vo);
  EXPECT_FALSE(rep.ok());
  EXPECT_EQ(rep.chunks_ok, r.index.num_chunks() - 1);
  flip(c1, bytes - 100);
  EXPECT_TRUE(verify_teacher_cache(cfg, vo).ok());
  flip(c1, 70);  // row table
  e = input_error(read_all);
  EXPECT_NE(e.find("header/row-table checksum"), std::string::npos) << e;
  flip(c1, 70);
  fs::resize_file(c1, bytes - 1);
  e = input_error(read_all);
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  fs::remove(c1);
  e = input_error(read_all);
  EXPECT_NE(e.find("cannot open"), std::string::npos) << e;
  rep = verify_teacher_cache(cfg, vo);
  EXPECT_EQ(rep.errors.size(), 1u);
  // A truncated index.json.
  const std::string ix = util::read_file(w.cache + "/index.json");
  util::write_file_atomic(w.cache + "/index.json", ix.substr(0, ix.size() / 2));
  EXPECT_NE(input_error([&] { CacheReader rd(w.cache); }).find("invalid JSON"), std::string::npos);
}

/// Rewrites a cache into format version 1, what an older hld-train wrote: FNV-1a teacher hash,
/// the 4-lane cache_checksum_v1 for row tokens, data blocks and chunk prefixes.
void downgrade_to_v1(const config::ExperimentConfig& cfg) {
  const std::string ip = cfg.teacher.cache + "/index.json";
  io::CacheIndex ix = io::parse_cache_index(util::read_file(ip), ip);
  ASSERT_EQ(ix.version, 2);
  ix.version = 1;
  ix.teacher_hash = teacher_weights_hash(cfg.teacher.checkpoint, util::HashAlgo::kFnv1a);
  ASSERT_EQ(ix.teacher_hash.find(':'), std::string::npos);
  data::BatchStream order(cfg.data.train, 1, cfg.data.context, cfg.run.seed);
  std::vector<int32_t> seq;
  for (auto& e : ix.chunks) {
    const std::string path = cfg.teacher.cache + "/" + e.file;
    std::string bytes = util::read_file(path);
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    io::ChunkHeader h = io::parse_chunk_header(p, bytes.size(), path);
    const io::ChunkGeometry g = io::chunk_geometry(h);
    auto rows = io::parse_row_table(p + io::kChunkHeaderBytes, bytes.size() - io::kChunkHeaderBytes, h.num_rows, path);
    for (uint64_t r = 0; r < h.num_rows; ++r) {
      order.sequence(static_cast<int64_t>(rows[r].seq_id), seq);
      rows[r].tokens_hash = io::tokens_hash(seq.data(), ix.context, 1);
      rows[r].logits_checksum = io::cache_checksum(p + g.logits_at(r), g.row_logits_bytes, 1);
      rows[r].hidden_checksum = io::cache_checksum(p + g.hidden_at(r), g.row_hidden_bytes, 1);
    }
    h.version = 1;
    h.cache_id = ix.cache_id();
    const std::string prefix = io::encode_chunk_prefix(h, rows);
    bytes.replace(0, prefix.size(), prefix);
    util::write_file_atomic(path, bytes);
    e.checksum = io::cache_checksum(prefix.data(), prefix.size(), 1);
  }
  util::write_file_atomic(ip, io::to_json(ix).dump(2));
}

TEST(TeacherCache, ReadsCachesOfFormatOneButDoesNotExtendThem) {
  CacheWorld w;
  const auto cfg = w.config("hldc", "cache");
  const auto r = write_cache(cfg, 16, kAll, -1, /*version=*/2);
  EXPECT_EQ(r.index.version, 2);
  EXPECT_EQ(r.index.teacher_hash, util::file_checksum(w.teacher + "/model.safetensors").str());
  data::BatchStream stream(cfg.data.train, 4, cfg.data.context, cfg.run.seed);
  std::vector<int32_t> toks;
  std::vector<int64_t> ids;
  stream.next(toks, ids);
  auto t = torch::from_blob(toks.data(), {4, 17}, torch::kInt32).to(torch::kInt64).narrow(1, 0, 16).contiguous();
  const spec::Needs needs{true, true};
  const auto v2 = make_teacher(cfg, torch::kCPU)->signals(t, ids, needs);

  downgrade_to_v1(cfg);
  EXPECT_EQ(CacheReader(w.cache).index().version, 1);
  const auto v1 = make_teacher(cfg, torch::kCPU)->signals(t, ids, needs);  // identity checked with FNV-1a
  EXPECT_TRUE(torch::equal(v1.vals_NxK, v2.vals_NxK));
  EXPECT_TRUE(torch::equal(v1.idx_NxK, v2.idx_NxK));
  EXPECT_TRUE(torch::equal(v1.hidden_NxD.at(0), v2.hidden_NxD.at(0)));
  VerifyOptions vo;
  vo.sample_sequences = 2;
  const auto rep = verify_teacher_cache(cfg, vo);
  EXPECT_TRUE(rep.ok()) << rep.to_json().dump(2);
  EXPECT_EQ(rep.topk_same_set, 1.0);
  // Another teacher of the same shape still fails the (legacy) weights hash.
  testing::save_random_teacher(w.tmp / "other_teacher", 256, 32, 4, 99, 0.5);
  const std::string e0 = input_error([&] {
    make_teacher(w.config("hldc", "cache", {"teacher.checkpoint=" + (w.tmp / "other_teacher")}), torch::kCPU);
  });
  EXPECT_NE(e0.find("'teacher.hash'"), std::string::npos) << e0;
  // cache-teacher does not mix formats: it says how to rebuild.
  const std::string e = input_error([&] { write_cache(cfg); });
  EXPECT_NE(e.find("format version 1"), std::string::npos) << e;
  EXPECT_NE(e.find("cache-teacher CONFIG"), std::string::npos) << e;
  EXPECT_NE(e.find("new directory"), std::string::npos) << e;
  // The legacy checksums still catch a flipped byte.
  const std::string c0 = w.cache + "/chunk_00000.bin";
  std::string bytes = util::read_file(c0);
  bytes[bytes.size() - 50] = static_cast<char>(bytes[bytes.size() - 50] ^ 0x04);
  util::write_file_atomic(c0, bytes);
  vo.sample_sequences = 0;
  EXPECT_FALSE(verify_teacher_cache(cfg, vo).ok());
  // A version this build does not know: the message says how to rebuild.
  auto j = nlohmann::json::parse(util::read_file(w.cache + "/index.json"));
  j["version"] = io::kTeacherCacheVersion + 1;
  util::write_file_atomic(w.cache + "/index.json", j.dump());
  const std::string e3 = input_error([&] { CacheReader rd(w.cache); });
  EXPECT_NE(e3.find("`hld-train cache-teacher CONFIG` into a new directory"), std::string::npos) << e3;
}

TEST(TeacherCache, InterruptedWriteResumesWithoutRewritingFinishedChunks) {
  CacheWorld w;
  const auto cfg = w.config("kd", "cache");
  auto first = write_cache(cfg, 16, kAll, /*stop_after=*/2);
  ASSERT_FALSE(first.index.complete());
  EXPECT_EQ(first.chunks_written, 2);
  EXPECT_NE(input_error([&] { make_teacher(cfg, torch::kCPU); }).find("incomplete"), std::string::npos);
  struct stat s0 {
  }, s1{};
  ASSERT_EQ(::stat((w.cache + "/chunk_00000.bin").c_str(), &s0), 0);
  // A crash mid-chunk leaves a temporary file behind; it must be cleaned up.
  std::ofstream(w.cache + "/chunk_00002.bin.tmp.99999") << "partial";
  auto second = write_cache(cfg);
  EXPECT_TRUE(second.index.complete());
  EXPECT_EQ(second.chunks_kept, 2);
  EXPECT_EQ(second.chunks_written, second.index.num_chunks() - 2);
  ASSERT_EQ(::stat((w.cache + "/chunk_00000.bin").c_str(), &s1), 0);
  EXPECT_EQ(s0.st_ino, s1.st_ino);
  EXPECT_EQ(s0.st_mtim.tv_sec, s1.st_mtim.tv_sec);
  EXPECT_EQ(s0.st_mtim.tv_nsec, s1.st_mtim.tv_nsec);
  EXPECT_FALSE(fs::exists(w.cache + "/chunk_00002.bin.tmp.99999"));
  // The resumed cache is byte-identical to one written in one go.
  const auto once = w.config("kd", "cache", {"teacher.cache=" + (w.tmp / "once")});
  write_cache(once);
  for (int64_t c = 0; c < second.index.num_chunks(); ++c) {
    const std::string name = io::chunk_file_name(c);
    EXPECT_EQ(util::read_file(w.cache + "/" + name), util::read_file(w.tmp / ("once/" + name))) << name;
  }
  // Nothing left to do: no chunk is touched.
  auto third = write_cache(cfg);
  EXPECT_EQ(third.chunks_written, 0);
  EXPECT_EQ(third.chunks_kept, second.index.num_chunks());
  // A damaged finished chunk is rewritten on resume.
  fs::resize_file(w.cache + "/chunk_00001.bin", 10);
  auto fourth = write_cache(cfg);
  EXPECT_EQ(fourth.chunks_written, 1);
  VerifyOptions no_samples;
  no_samples.sample_sequences = 0;
  EXPECT_TRUE(verify_teacher_cache(cfg, no_samples).ok());
  make_teacher(cfg, torch::kCPU);
}

TEST(TeacherCache, PrefixCachesFollowTheRunOrderAndGrowKeepingTheirChunks) {
  CacheWorld w;
  const auto kd = w.config("kd", "cache", {}, 3);  // reads positions [0, 12) of the seed-3 order
  // The default covers every teacher objective of the budget: HLDF's hint phase reads the most.
  const auto dflt = write_cache(w.config("kd", "cache", {"teacher.cache=" + (w.tmp / "default")}, 6), 4, 0);
  EXPECT_EQ(dflt.index.selection.kind, "prefix");
  EXPECT_GT(dflt.index.rows, 6 * 4);  // more than KD's 6 steps x 4
  make_teacher(w.config("hldf", "cache", {"teacher.cache=" + (w.tmp / "default")}, 6), torch::kCPU);

  const auto a = write_cache(kd, 4, 6);
  ASSERT_EQ(a.index.num_chunks(), 2);
  EXPECT_NE(input_error([&] { make_teacher(kd, torch::kCPU); }).find("'selection.positions'"), std::string::npos);
  // Rows are the visiting order: what step s reads is rows [4s, 4s + 4).
  CacheReader rd(w.cache);
  data::BatchStream order(kd.data.train, 4, 16, kd.run.seed);
  rd.attach(order);
  std::vector<int32_t> toks;
  std::vector<int64_t> ids;
  order.next(toks, ids);
  for (int64_t b = 0; b < 4; ++b) EXPECT_EQ(rd.row_of(ids[static_cast<size_t>(b)]), b);
  const auto t0 = fs::last_write_time(w.cache + "/chunk_00000.bin");
  const auto b = write_cache(kd, 4, 14);  // grow: chunk 0 is full and kept, chunk 1 (2 rows) rewritten
  EXPECT_EQ(b.chunks_kept, 1);
  EXPECT_EQ(b.chunks_written, 3);
  EXPECT_EQ(fs::last_write_time(w.cache + "/chunk_00000.bin"), t0);
  make_teacher(kd, torch::kCPU);
  const auto once = w.config("kd", "cache", {"teacher.cache=" + (w.tmp / "once")}, 3);
  write_cache(once, 4, 14);
  for (int64_t c = 0; c < 4; ++c)
    EXPECT_EQ(util::read_file(w.cache + "/" + io::chunk_file_name(c)),
              util::read_file(w.tmp / ("once/" + io::chunk_file_name(c))));
  // Shrinking drops the chunks past the end.
  const auto s = write_cache(kd, 4, 12);
  EXPECT_EQ(s.chunks_kept, 3);
  EXPECT_FALSE(fs::exists(w.cache + "/chunk_00003.bin"));
  make_teacher(kd, torch::kCPU);
}

TEST(TeacherCache, RefusesWhenTheDiskIsTooSmall) {
  test::TempDir t;
  EXPECT_GT(util::free_disk_bytes(t.path()), 0u);
  EXPECT_GT(util::free_disk_bytes(t / "not/yet/created"), 0u);
  const std::string e = input_error([&] { check_disk_space(t / "cache", uint64_t{1} << 62); });
  EXPECT_NE(e.find("needs 4096.00 PiB"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(t / "cache"));
  check_disk_space(t / "cache", 1);
}

}  // namespace
}  // namespace hld::teacher
