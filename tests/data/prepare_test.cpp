// prepare_shards on real text with a real SentencePiece model: shard tokens decode to exactly what
// SentencePiece's own round trip gives, EOS after every document, the document-hash split has no
// overlap, bad lines are counted, re-running is a no-op, bad input writes nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "data_test_util.h"
#include "hld/data/prepare.h"
#include "hld/data/shards.h"
#include "hld/data/tokenizer.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::data {
namespace {

using testing::TempDir;

/// Splits a split's token stream at EOS into documents and decodes each.
std::vector<std::string> decode_split(const std::string& dir, const Tokenizer& tok) {
  ShardSet set(dir, tok.hash());
  std::vector<int32_t> all(set.num_tokens());
  set.read(0, all.size(), all.data());
  std::vector<std::string> docs;
  std::vector<int32_t> cur;
  for (int32_t id : all) {
    if (id == tok.eos_id()) {
      docs.push_back(tok.decode(cur));
      cur.clear();
    } else {
      cur.push_back(id);
    }
  }
  EXPECT_TRUE(cur.empty()) << "the stream must end with EOS";
  EXPECT_EQ(static_cast<int64_t>(docs.size()), set.num_documents());
  return docs;
}

int64_t mtime_ns(const std::string& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

struct PrepareFixture : public ::testing::Test {
  TempDir tmp;
  std::vector<std::string> docs = testing::corpus_docs(700);
  std::string model;
  void SetUp() override {
    model = testing::train_small_tokenizer(tmp.path(), std::vector<std::string>(docs.begin(), docs.begin() + 200));
  }
};

TEST_F(PrepareFixture, ShardTokensDecodeToSentencePieceRoundTripOfSources) {
  // Input: 500 corpus documents as C4 .json.gz, with three broken lines among them.
  const std::vector<std::string> src(docs.begin() + 200, docs.end());
  std::string body;
  for (size_t i = 0; i < src.size(); ++i) {
    body += nlohmann::json{{"text", src[i]}, {"timestamp", "t"}, {"url", "u"}}.dump() + "\n";
    if (i == 10) body += "{\"text\": broken\n";
    if (i == 20) body += "{\"text\": \"\"}\n";
    if (i == 30) body += "{\"text\": \"\xc3\x28\"}\n";
  }
  const std::string input = tmp / "c4-train.00000-of-01024.json.gz";
  testing::write_gz(input, body);

  PrepareOptions o;
  o.tokenizer = model;
  o.inputs = {input};
  o.out_dir = tmp / "shards";
  o.valid_fraction = 0.1;
  o.split_seed = 3;
  o.shard_tokens = 20000;
  o.threads = 2;
  const auto res = prepare_shards(o);
  EXPECT_FALSE(res.up_to_date);
  EXPECT_EQ(res.train_reader.malformed, 1);
  EXPECT_EQ(res.train_reader.empty, 1);
  EXPECT_EQ(res.train_reader.invalid_utf8, 1);
  EXPECT_EQ(res.train_index["reader"]["malformed"], 1);
  EXPECT_GT(res.train_index["shards"].size(), 2u) << "small shard size must give several shards";
  EXPECT_EQ(res.train_index["dtype"], "uint16");

  Tokenizer tok(model);
  const auto train = decode_split(tmp / "shards/train", tok);
  const auto valid = decode_split(tmp / "shards/valid", tok);
  EXPECT_EQ(train.size() + valid.size(), src.size());
  EXPECT_GT(valid.size(), 20u);
  EXPECT_LT(valid.size(), 90u);
  size_t ti = 0, vi = 0;
  for (const auto& d : src) {
    const std::string expect = tok.decode(tok.encode(d));  // SentencePiece's own round trip
    EXPECT_EQ(expect, d) << "identity normalisation keeps text exactly";
    if (hash_to_valid(d, 0.1, 3)) {
      ASSERT_LT(vi, valid.size());
      EXPECT_EQ(valid[vi++], expect);
    } else {
      ASSERT_LT(ti, train.size());
      EXPECT_EQ(train[ti++], expect);
    }
  }
  std::set<std::string> tset(train.begin(), train.end());
  for (const auto& v : valid) EXPECT_FALSE(tset.count(v)) << "a document is in both splits";

  ShardSet set(tmp / "shards/train");
  set.verify();
  const auto hdr = nlohmann::json::parse(util::read_file(tmp / "shards/train/shard_00000.json"));
  EXPECT_EQ(hdr["tokenizer_hash"], tok.hash());
  EXPECT_EQ(hdr["sources"][0], input);
  EXPECT_EQ(hdr["bytes"], hdr["tokens"].get<uint64_t>() * 2);

  // Re-running on finished output does nothing; changing a setting rewrites and drops stale shards.
  const int64_t before = mtime_ns(tmp / "shards/train/shard_00000.bin");
  const auto again = prepare_shards(o);
  EXPECT_TRUE(again.up_to_date);
  EXPECT_EQ(mtime_ns(tmp / "shards/train/shard_00000.bin"), before);
  const size_t old_shards = res.train_index["shards"].size();
  o.shard_tokens = 1 << 20;
  const auto bigger = prepare_shards(o);
  EXPECT_FALSE(bigger.up_to_date);
  EXPECT_EQ(bigger.train_index["shards"].size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(tmp / "shards/train/shard_00001.bin")) << old_shards;
  EXPECT_EQ(decode_split(tmp / "shards/train", tok), train);
}

TEST_F(PrepareFixture, ValidFilesSplitDropsTrainDocumentsAlsoInValid) {
  const std::vector<std::string> train_src(docs.begin() + 200, docs.begin() + 400);
  std::vector<std::string> valid_src(docs.begin() + 400, docs.begin() + 450);
  valid_src.push_back(train_src[5]);  // also in train: must not be trained on
  valid_src.push_back(train_src[77]);
  testing::write_c4(tmp / "train.jsonl", train_src);
  testing::write_c4(tmp / "valid.jsonl.gz", valid_src);
  PrepareOptions o;
  o.tokenizer = model;
  o.inputs = {tmp / "train.jsonl"};
  o.valid_inputs = {tmp / "valid.jsonl.gz"};
  o.out_dir = tmp / "out";
  const auto res = prepare_shards(o);
  EXPECT_EQ(res.dropped_in_valid, 2);
  Tokenizer tok(model);
  const auto train = decode_split(tmp / "out/train", tok), valid = decode_split(tmp / "out/valid", tok);
  EXPECT_EQ(train.size(), 198u);
  EXPECT_EQ(valid, valid_src);
  std::set<std::string> vset(valid.begin(), valid.end());
  for (const auto& t : train) EXPECT_FALSE(vset.count(t));
  EXPECT_TRUE(prepare_shards(o).up_to_date);
}

TEST_F(PrepareFixture, BadInputWritesNothing) {
  testing::write_gz(tmp / "in.json.gz", "{\"text\": \"fine\"}\n{\"text\": oops}\n{\"text\": \"fine too\"}\n");
  PrepareOptions o;
  o.tokenizer = model;
  o.inputs = {tmp / "in.json.gz"};
  o.out_dir = tmp / "out";
  o.reader.strict = true;
  try {
    prepare_shards(o);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(tmp / "in.json.gz:2"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(tmp / "out"));

  o.reader.strict = false;
  o.inputs = {tmp / "in.json.gz", tmp / "missing.jsonl"};
  EXPECT_THROW(prepare_shards(o), InputError);
  EXPECT_FALSE(std::filesystem::exists(tmp / "out"));
  o.inputs = {tmp / "in.json.gz"};
  o.tokenizer = tmp / "missing.model";
  EXPECT_THROW(prepare_shards(o), InputError);
  o.tokenizer = model;
  o.valid_fraction = 1.0;
  EXPECT_THROW(prepare_shards(o), InputError);
  EXPECT_FALSE(std::filesystem::exists(tmp / "out"));

  o.valid_fraction = 0;
  const auto res = prepare_shards(o);
  EXPECT_EQ(res.train_index["documents"], 2);
  EXPECT_EQ(res.train_index["reader"]["malformed"], 1);
}

TEST(HashSplit, IsDeterministicAndNearTheFraction) {
  int valid = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string t = "document " + std::to_string(i);
    const bool v = hash_to_valid(t, 0.05, 11);
    EXPECT_EQ(v, hash_to_valid(t, 0.05, 11));
    valid += v;
  }
  EXPECT_NEAR(valid / 20000.0, 0.05, 0.006);
  EXPECT_FALSE(hash_to_valid("x", 0.0, 1));
  int differ = 0;
  for (int i = 0; i < 1000; ++i)
    differ += hash_to_valid(std::to_string(i), 0.5, 1) != hash_to_valid(std::to_string(i), 0.5, 2);
  EXPECT_GT(differ, 350);
}

}  // namespace
}  // namespace hld::data
