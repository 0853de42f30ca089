// BatchStream and ShardSet on synthetic shards (known token stream): packed sequence layout,
// seeded epoch permutations, exact save/restore, rank slicing, corrupt shard detection.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "data_test_util.h"
#include "hld/data/batch_stream.h"
#include "hld/data/permutation.h"
#include "hld/data/shards.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "hld/util/hash.h"

namespace hld::data {
namespace {

using testing::TempDir;

/// Writes documents of varying length with ids drawn from a simple formula into `dir` and
/// returns the expected concatenated stream (EOS = 1 after each document).
std::vector<int32_t> write_synthetic(const std::string& dir, int64_t vocab, int docs, int64_t shard_tokens,
                                     const std::string& hash = "feedfacefeedface") {
  ShardWriter w(dir, "train", hash, vocab, /*eos_id=*/1, shard_tokens, [] { return nlohmann::json::object(); });
  std::vector<int32_t> stream;
  for (int d = 0; d < docs; ++d) {
    std::vector<int32_t> ids;
    const int len = 5 + (d * 37) % 120;
    for (int k = 0; k < len; ++k)
      ids.push_back(static_cast<int32_t>(4 + (int64_t{d} * 131 + k * 7) * 1009 % (vocab - 4)));
    w.add_document(ids, "doc-source-" + std::to_string(d % 3));
    stream.insert(stream.end(), ids.begin(), ids.end());
    stream.push_back(1);
  }
  w.finish({{"note", "synthetic"}});
  return stream;
}

TEST(Permutation, IsABijectionAndDependsOnTheKey) {
  for (uint64_t n : {1ull, 2ull, 3ull, 5ull, 64ull, 1000ull, 4097ull}) {
    Permutation p(n, 42), q(n, 43);
    std::vector<char> hit(n, 0);
    size_t same = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t v = p(i);
      ASSERT_LT(v, n);
      ASSERT_FALSE(hit[v]) << "n=" << n << " repeats " << v;
      hit[v] = 1;
      same += v == q(i);
    }
    if (n >= 64) {
      EXPECT_LT(same, n / 8) << "keys 42 and 43 give nearly the same order for n=" << n;
    }
  }
}

TEST(ShardSet, ReadsTheConcatenatedStreamAcrossShards) {
  TempDir tmp;
  const auto stream = write_synthetic(tmp / "s", 1000, 300, 2000);
  ShardSet set(tmp / "s", "feedfacefeedface");
  EXPECT_GT(set.num_shards(), 5);
  EXPECT_EQ(set.num_tokens(), stream.size());
  EXPECT_EQ(set.num_documents(), 300);
  EXPECT_EQ(set.dtype(), TokenDtype::kUint16);
  std::vector<int32_t> all(stream.size());
  set.read(0, all.size(), all.data());
  EXPECT_EQ(all, stream);
  std::vector<int32_t> part(5000);
  set.read(1234, part.size(), part.data());
  EXPECT_TRUE(std::equal(part.begin(), part.end(), stream.begin() + 1234));
  EXPECT_THROW(set.read(stream.size() - 3, 4, part.data()), InputError);
  EXPECT_THROW(ShardSet(tmp / "s", "0123456789abcdef"), InputError);
  set.verify();
}

TEST(ShardSet, LargeVocabularyUsesUint32) {
  TempDir tmp;
  const auto stream = write_synthetic(tmp / "s", 70000, 40, 1 << 20);
  ShardSet set(tmp / "s");
  EXPECT_EQ(set.dtype(), TokenDtype::kUint32);
  EXPECT_EQ(std::filesystem::file_size(tmp / "s/shard_00000.bin"), stream.size() * 4);
  std::vector<int32_t> all(stream.size());
  set.read(0, all.size(), all.data());
  EXPECT_EQ(all, stream);
  EXPECT_TRUE(std::any_of(all.begin(), all.end(), [](int32_t v) { return v > 65535; }));
}

/// Expects an InputError whose message names `file` when opening (and, if it opens, reading and
/// verifying) the split.
void expect_corrupt(const std::string& dir, const std::string& file) {
  try {
    ShardSet set(dir);
    std::vector<int32_t> all(set.num_tokens());
    set.read(0, all.size(), all.data());
    set.verify();
    FAIL() << "expected InputError for " << file;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
}

TEST(ShardSet, CorruptOrTruncatedFilesAreInputErrorsNamingThem) {
  TempDir tmp;
  const auto fresh = [&](const std::string& name) {
    write_synthetic(tmp / name, 1000, 100, 3000);
    return tmp / name;
  };
  {  // header disagrees with the index
    const auto d = fresh("a");
    auto h = nlohmann::json::parse(util::read_file(d + "/shard_00001.json"));
    h["tokens"] = h["tokens"].get<uint64_t>() + 1;
    testing::write_text(d + "/shard_00001.json", h.dump());
    expect_corrupt(d, "shard_00001.json");
  }
  {  // header is not JSON
    const auto d = fresh("b");
    testing::write_text(d + "/shard_00000.json", "{\"format\": \"hld-token-shard\", \"dtype\": ");
    expect_corrupt(d, "shard_00000.json");
  }
  {  // truncated data file
    const auto d = fresh("c");
    std::filesystem::resize_file(d + "/shard_00002.bin", std::filesystem::file_size(d + "/shard_00002.bin") - 3);
    expect_corrupt(d, "shard_00002.bin");
  }
  {  // ids outside the vocabulary
    const auto d = fresh("e");
    std::string bytes = util::read_file(d + "/shard_00000.bin");
    bytes[10] = bytes[11] = '\xff';
    testing::write_text(d + "/shard_00000.bin", bytes);
    expect_corrupt(d, "shard_00000.bin");
  }
  {  // a flipped bit that stays inside the vocabulary: only the checksum sees it
    const auto d = fresh("f");
    std::string bytes = util::read_file(d + "/shard_00000.bin");
    bytes[20] = static_cast<char>(bytes[20] ^ 1);
    testing::write_text(d + "/shard_00000.bin", bytes);
    expect_corrupt(d, "shard_00000.bin");
  }
  {  // hostile index: bad dtype, path escaping the directory, missing index
    const auto d = fresh("g");
    auto ix = nlohmann::json::parse(util::read_file(d + "/index.json"));
    auto bad = ix;
    bad["dtype"] = "float32";
    testing::write_text(d + "/index.json", bad.dump());
    expect_corrupt(d, "index.json");
    bad = ix;
    bad["shards"][0]["file"] = "../../etc/passwd";
    testing::write_text(d + "/index.json", bad.dump());
    expect_corrupt(d, "index.json");
    bad = ix;
    bad["shards"][0]["tokens"] = -5;
    testing::write_text(d + "/index.json", bad.dump());
    expect_corrupt(d, "index.json");
    std::filesystem::remove(d + "/index.json");
    expect_corrupt(d, "index.json");
  }
}

TEST(ShardSet, WritesFormatTwoWithXxh3AndStillReadsFormatOneWithFnv) {
  TempDir tmp;
  const std::string d = tmp / "s";
  const auto stream = write_synthetic(d, 1000, 100, 3000);
  auto ix = nlohmann::json::parse(util::read_file(d + "/index.json"));
  EXPECT_EQ(ix["version"], kShardFormatVersion);
  for (const auto& e : ix["shards"]) {
    const std::string bin = d + "/" + e["file"].get<std::string>();
    EXPECT_EQ(e["checksum"], util::file_checksum(bin).str());
    EXPECT_EQ(e["checksum"].get<std::string>().rfind("xxh3:", 0), 0u);
  }
  // What an older hld-train wrote: version 1, bare FNV-1a hex in the index and every header.
  auto to_v1 = [&](const std::string& dir) {
    auto j = nlohmann::json::parse(util::read_file(dir + "/index.json"));
    j["version"] = 1;
    for (auto& e : j["shards"]) {
      const std::string stem = dir + "/" + e["header"].get<std::string>();
      e["checksum"] = util::hex64(util::fnv1a64(util::read_file(dir + "/" + e["file"].get<std::string>())));
      auto h = nlohmann::json::parse(util::read_file(stem));
      h["version"] = 1;
      h["checksum"] = e["checksum"];
      testing::write_text(stem, h.dump());
    }
    testing::write_text(dir + "/index.json", j.dump());
    return j;
  };
  const auto v1 = to_v1(d);
  {
    ShardSet set(d);
    std::vector<int32_t> all(set.num_tokens());
    set.read(0, all.size(), all.data());
    EXPECT_EQ(all, stream);
    set.verify();
  }
  {  // a flipped bit inside the vocabulary: the legacy checksum still sees it
    std::string bytes = util::read_file(d + "/shard_00001.bin");
    bytes[20] = static_cast<char>(bytes[20] ^ 1);
    testing::write_text(d + "/shard_00001.bin", bytes);
    expect_corrupt(d, "shard_00001.bin");
  }
  {  // an algorithm that does not belong to the version
    auto bad = v1;
    bad["version"] = kShardFormatVersion;
    testing::write_text(d + "/index.json", bad.dump());
    expect_corrupt(d, "shard_00000.json");
    bad["version"] = 3;
    testing::write_text(d + "/index.json", bad.dump());
    expect_corrupt(d, "index.json");
  }
}

TEST(BatchStream, SequencesArePackedWindowsOfTheStream) {
  TempDir tmp;
  const auto stream = write_synthetic(tmp / "s", 1000, 200, 5000);
  const int64_t ctx = 64;
  BatchStream bs(tmp / "s", 4, ctx, 0);
  EXPECT_EQ(bs.num_sequences(), static_cast<int64_t>((stream.size() - 1) / ctx));
  EXPECT_EQ(bs.num_tokens(), stream.size());
  EXPECT_EQ(bs.vocab_size(), 1000);
  EXPECT_EQ(bs.tokenizer_hash(), "feedfacefeedface");
  std::vector<int32_t> seq;
  for (int64_t i = 0; i < bs.num_sequences(); ++i) {
    bs.sequence(i, seq);
    ASSERT_EQ(seq.size(), static_cast<size_t>(ctx + 1));
    ASSERT_TRUE(std::equal(seq.begin(), seq.end(), stream.begin() + i * ctx)) << i;
  }
  EXPECT_THROW(bs.sequence(bs.num_sequences(), seq), InputError);
  // Each batch row is the sequence its seq_id names.
  std::vector<int32_t> toks;
  std::vector<int64_t> ids;
  bs.next(toks, ids);
  ASSERT_EQ(toks.size(), 4u * (ctx + 1));
  for (int b = 0; b < 4; ++b) {
    bs.sequence(ids[b], seq);
    EXPECT_TRUE(std::equal(seq.begin(), seq.end(), toks.begin() + b * (ctx + 1)));
  }
}

TEST(BatchStream, SameSeedSameBatchesAndEveryEpochIsAPermutation) {
  TempDir tmp;
  write_synthetic(tmp / "s", 1000, 150, 1 << 20);
  BatchStream a(tmp / "s", 3, 32, 17), b(tmp / "s", 3, 32, 17), c(tmp / "s", 3, 32, 18);
  const int64_t n = a.num_sequences();
  std::vector<int32_t> ta, tb, tc;
  std::vector<int64_t> ia, ib, ic;
  std::vector<int64_t> order_a, order_c;
  const int64_t steps = (2 * n + 2) / 3 + 1;  // a little over two epochs
  for (int64_t s = 0; s < steps; ++s) {
    a.next(ta, ia);
    b.next(tb, ib);
    c.next(tc, ic);
    ASSERT_EQ(ta, tb);
    ASSERT_EQ(ia, ib);
    order_a.insert(order_a.end(), ia.begin(), ia.end());
    order_c.insert(order_c.end(), ic.begin(), ic.end());
  }
  EXPECT_NE(order_a, order_c) << "another seed gives another order";
  for (int e = 0; e < 2; ++e) {
    std::vector<int64_t> ep(order_a.begin() + e * n, order_a.begin() + (e + 1) * n);
    std::sort(ep.begin(), ep.end());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(ep[i], i) << "epoch " << e << " must visit each sequence once";
  }
  EXPECT_FALSE(std::equal(order_a.begin(), order_a.begin() + n, order_a.begin() + n)) << "each epoch is reshuffled";
  EXPECT_EQ(a.epoch(), 2);
}

TEST(BatchStream, RestoredPositionContinuesExactly) {
  TempDir tmp;
  write_synthetic(tmp / "s", 1000, 120, 4000);
  BatchStream full(tmp / "s", 5, 48, 99);
  BatchStream first(tmp / "s", 5, 48, 99);
  std::vector<int32_t> t1, t2;
  std::vector<int64_t> i1, i2;
  const int k = 23;  // crosses an epoch boundary before or after the stop
  for (int s = 0; s < k; ++s) {
    full.next(t1, i1);
    first.next(t2, i2);
  }
  const std::string saved = first.position().dump();  // as a checkpoint stores it
  EXPECT_EQ(first.position()["step"], k);
  BatchStream resumed(tmp / "s", 5, 48, 99);
  resumed.restore(nlohmann::json::parse(saved));
  EXPECT_EQ(resumed.step(), k);
  for (int s = 0; s < 40; ++s) {
    full.next(t1, i1);
    resumed.next(t2, i2);
    ASSERT_EQ(t1, t2) << "step " << k + s;
    ASSERT_EQ(i1, i2);
  }
  // A position from another seed, context, global batch or data is refused.
  BatchStream other_seed(tmp / "s", 5, 48, 100), other_ctx(tmp / "s", 5, 40, 99), other_batch(tmp / "s", 4, 48, 99);
  EXPECT_THROW(other_seed.restore(nlohmann::json::parse(saved)), InputError);
  EXPECT_THROW(other_ctx.restore(nlohmann::json::parse(saved)), InputError);
  EXPECT_THROW(other_batch.restore(nlohmann::json::parse(saved)), InputError);  // 115 % 4 != 0
  write_synthetic(tmp / "t", 1000, 121, 4000);
  BatchStream other_data(tmp / "t", 5, 48, 99);
  EXPECT_THROW(other_data.restore(nlohmann::json::parse(saved)), InputError);
  EXPECT_THROW(resumed.restore(nlohmann::json{{"format", 3}}), InputError);
  auto bad = nlohmann::json::parse(saved);
  bad["sequences_consumed"] = "many";
  EXPECT_THROW(resumed.restore(bad), InputError);
}

TEST(BatchStream, RanksSliceTheGlobalBatch) {
  TempDir tmp;
  write_synthetic(tmp / "s", 1000, 90, 1 << 20);
  const int64_t b = 3;
  BatchStream one(tmp / "s", 2 * b, 40, 5), r0(tmp / "s", b, 40, 5, 0, 2), r1(tmp / "s", b, 40, 5, 1, 2);
  std::vector<int32_t> t, t0, t1;
  std::vector<int64_t> i, i0, i1;
  std::set<int64_t> seen;
  for (int s = 0; s < 30; ++s) {  // several epochs
    one.next(t, i);
    r0.next(t0, i0);
    r1.next(t1, i1);
    t0.insert(t0.end(), t1.begin(), t1.end());
    i0.insert(i0.end(), i1.begin(), i1.end());
    ASSERT_EQ(t, t0) << "step " << s;
    ASSERT_EQ(i, i0);
  }
  // A position saved by world=2 restores into world=1 with the same global batch.
  BatchStream again(tmp / "s", 2 * b, 40, 5);
  again.restore(r0.position());
  one.next(t, i);
  again.next(t0, i0);
  EXPECT_EQ(t, t0);
  // Within one step the two ranks read disjoint sequences.
  r0.next(t0, i0);
  r1.next(t1, i1);
  for (int64_t x : i0) EXPECT_EQ(std::count(i1.begin(), i1.end(), x), 0);
}

TEST(BatchStream, BadArgumentsAndTooSmallSplits) {
  TempDir tmp;
  const auto stream = write_synthetic(tmp / "s", 1000, 3, 1 << 20);
  const auto n = static_cast<int64_t>(stream.size());
  EXPECT_THROW(BatchStream(tmp / "s", 0, 8, 0), InputError);
  EXPECT_THROW(BatchStream(tmp / "s", 2, 0, 0), InputError);
  EXPECT_THROW(BatchStream(tmp / "s", 2, 8, 0, 2, 2), InputError);
  EXPECT_THROW(BatchStream(tmp / "s", 2, n, 0), InputError);  // needs context+1 tokens
  BatchStream ok(tmp / "s", 2, n - 1, 0);                     // exactly one sequence
  EXPECT_EQ(ok.num_sequences(), 1);
  EXPECT_THROW(BatchStream(tmp / "missing", 2, 8, 0), InputError);
}

}  // namespace
}  // namespace hld::data
