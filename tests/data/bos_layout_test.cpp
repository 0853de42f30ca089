// The BOS layout of token shards, on real text with a real SentencePiece model: `prepare` writes
// `BOS text EOS` by default and `text EOS` with bos = false (--no-bos), records the layout in every
// header and the index, counts tokens exactly; shards written before the layout was recorded load
// as no-BOS; inconsistent layout fields are InputErrors naming the file; the batch stream position
// carries the layout and refuses to resume across layouts.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>

#include "data_test_util.h"
#include "hld/data/batch_stream.h"
#include "hld/data/prepare.h"
#include "hld/data/shards.h"
#include "hld/data/tokenizer.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::data {
namespace {

using testing::TempDir;

struct BosFixture : public ::testing::Test {
  TempDir tmp;
  std::vector<std::string> docs = testing::corpus_docs(260);
  std::string model, input;
  void SetUp() override {
    model = testing::train_small_tokenizer(tmp.path(), std::vector<std::string>(docs.begin(), docs.begin() + 200));
    input = tmp / "in.jsonl";
    testing::write_c4(input, std::vector<std::string>(docs.begin() + 200, docs.end()));
  }
  PrepareOptions options(const std::string& out, bool bos) const {
    PrepareOptions o;
    o.tokenizer = model;
    o.inputs = {input};
    o.out_dir = out;
    o.valid_fraction = 0;  // every document in train, in input order
    o.shard_tokens = 3000;
    o.threads = 2;
    o.bos = bos;
    return o;
  }
  std::vector<int32_t> stream(const std::string& dir) const {
    ShardSet set(dir);
    std::vector<int32_t> all(set.num_tokens());
    set.read(0, all.size(), all.data());
    return all;
  }
  nlohmann::json read_json(const std::string& path) const { return nlohmann::json::parse(util::read_file(path)); }
  void write_json(const std::string& path, const nlohmann::json& j) const { util::write_file_atomic(path, j.dump(2)); }
};

TEST_F(BosFixture, DefaultWritesBosTextEosAndNoBosWritesTextEos) {
  Tokenizer tok(model);
  ASSERT_EQ(tok.bos_id(), 2);
  ASSERT_EQ(tok.eos_id(), 1);
  const std::vector<std::string> src(docs.begin() + 200, docs.end());
  std::vector<int32_t> want_bos, want_plain;
  for (const auto& d : src) {
    const auto ids = tok.encode(d);
    want_bos.push_back(tok.bos_id());
    want_bos.insert(want_bos.end(), ids.begin(), ids.end());
    want_bos.push_back(tok.eos_id());
    want_plain.insert(want_plain.end(), ids.begin(), ids.end());
    want_plain.push_back(tok.eos_id());
  }
  ASSERT_EQ(want_bos.size(), want_plain.size() + src.size());

  PrepareOptions o = options(tmp / "bos", /*bos=*/true);
  EXPECT_TRUE(PrepareOptions{}.bos) << "BOS is the default";
  const auto res = prepare_shards(o);
  EXPECT_EQ(stream(tmp / "bos/train"), want_bos);
  EXPECT_EQ(res.train_index["tokens"].get<uint64_t>(), want_bos.size());
  EXPECT_EQ(res.train_index["documents"].get<int64_t>(), int64_t(src.size()));
  EXPECT_EQ(res.train_index["bos"], true);
  EXPECT_EQ(res.train_index["bos_id"], 2);
  EXPECT_GT(res.train_index["shards"].size(), 2u);
  for (const auto& s : res.train_index["shards"]) {
    const auto h = read_json(tmp / "bos/train/" + s["header"].get<std::string>());
    EXPECT_EQ(h["bos"], true) << s["header"];
    EXPECT_EQ(h["bos_id"], 2);
  }
  ShardSet set(tmp / "bos/train");
  EXPECT_TRUE(set.bos());
  EXPECT_EQ(set.bos_id(), 2);
  set.verify();

  const auto plain = prepare_shards(options(tmp / "plain", /*bos=*/false));
  EXPECT_EQ(stream(tmp / "plain/train"), want_plain);
  EXPECT_EQ(plain.train_index["tokens"].get<uint64_t>(), want_plain.size());
  EXPECT_EQ(plain.train_index["bos"], false);
  EXPECT_FALSE(plain.train_index.contains("bos_id"));
  EXPECT_FALSE(ShardSet(tmp / "plain/train").bos());
  EXPECT_EQ(ShardSet(tmp / "plain/train").bos_id(), -1);

  // The layout is a setting: switching it rewrites the output, the same one is up to date.
  EXPECT_TRUE(prepare_shards(o).up_to_date);
  o.bos = false;
  const auto switched = prepare_shards(o);
  EXPECT_FALSE(switched.up_to_date);
  EXPECT_EQ(stream(tmp / "bos/train"), want_plain);
}

TEST_F(BosFixture, OldShardsWithoutLayoutLoadAsNoBosAndBadFieldsAreNamed) {
  prepare_shards(options(tmp / "old", /*bos=*/false));
  const std::string dir = tmp / "old/train";
  // What an older hld-train wrote: no `bos` anywhere.
  auto ix = read_json(dir + "/index.json");
  ix.erase("bos");
  write_json(dir + "/index.json", ix);
  for (const auto& s : ix["shards"]) {
    auto h = read_json(dir + "/" + s["header"].get<std::string>());
    h.erase("bos");
    write_json(dir + "/" + s["header"].get<std::string>(), h);
  }
  {
    ShardSet set(dir);
    EXPECT_FALSE(set.bos());
    BatchStream bs(dir, 2, 16, 0);
    EXPECT_FALSE(bs.bos());
    EXPECT_EQ(bs.position()["bos"], false);
  }
  // An index that claims BOS while its shard headers do not.
  ix["bos"] = true;
  ix["bos_id"] = 2;
  write_json(dir + "/index.json", ix);
  try {
    ShardSet set(dir);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("shard_00000.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("BOS layout"), std::string::npos) << e.what();
  }
  ix["bos"] = "yes";
  write_json(dir + "/index.json", ix);
  try {
    ShardSet set(dir);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("index.json': field 'bos'"), std::string::npos) << e.what();
  }
  ix["bos"] = true;
  ix["bos_id"] = 100000;
  write_json(dir + "/index.json", ix);
  EXPECT_THROW(ShardSet{dir}, InputError);
}

TEST_F(BosFixture, BatchStreamPositionCarriesTheLayout) {
  prepare_shards(options(tmp / "a", /*bos=*/true));
  prepare_shards(options(tmp / "b", /*bos=*/false));
  BatchStream a(tmp / "a/train", 2, 16, 5);
  std::vector<int32_t> toks;
  std::vector<int64_t> ids;
  a.next(toks, ids);
  auto p = a.position();
  EXPECT_EQ(p["bos"], true);
  // The same position restores; one from a no-BOS split (otherwise identical fields) does not.
  BatchStream again(tmp / "a/train", 2, 16, 5);
  again.restore(p);
  EXPECT_EQ(again.step(), 1);
  BatchStream b(tmp / "b/train", 2, 16, 5);
  auto pb = b.position();
  pb["num_tokens"] = p["num_tokens"];
  pb["num_sequences"] = p["num_sequences"];
  pb["tokenizer_hash"] = p["tokenizer_hash"];
  EXPECT_EQ(pb["bos"], false);
  try {
    again.restore(pb);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("BOS layout"), std::string::npos) << e.what();
  }
  // A position saved before the layout was recorded (no `bos`) still restores.
  p.erase("bos");
  again.restore(p);
  EXPECT_EQ(again.step(), 1);
}

#ifdef HLD_TRAIN_BIN
TEST_F(BosFixture, CliNoBosFlag) {
  auto run = [&](const std::string& args) {
    const std::string cmd = std::string(HLD_TRAIN_BIN) + " " + args + " > " + (tmp / "log.txt") + " 2>&1";
    const int st = std::system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  };
  const std::string common = "prepare --tokenizer " + model + " --input " + input + " --valid-fraction 0.1 --out ";
  ASSERT_EQ(run(common + (tmp / "cli_bos")), 0) << util::read_file(tmp / "log.txt");
  EXPECT_NE(util::read_file(tmp / "log.txt").find("BOS text EOS"), std::string::npos);
  EXPECT_EQ(read_json(tmp / "cli_bos/train/index.json")["bos"], true);
  EXPECT_EQ(read_json(tmp / "cli_bos/valid/index.json")["bos"], true);
  ASSERT_EQ(run(common + (tmp / "cli_plain") + " --no-bos"), 0) << util::read_file(tmp / "log.txt");
  EXPECT_EQ(read_json(tmp / "cli_plain/train/index.json")["bos"], false);
  EXPECT_EQ(read_json(tmp / "cli_plain/valid/index.json")["bos"], false);
  const auto ta = read_json(tmp / "cli_bos/train/index.json"), tb = read_json(tmp / "cli_plain/train/index.json");
  EXPECT_EQ(ta["tokens"].get<int64_t>() - tb["tokens"].get<int64_t>(), tb["documents"].get<int64_t>());
}
#endif

}  // namespace
}  // namespace hld::data
