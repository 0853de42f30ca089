// Tokenizer: training a small unigram model on the embedded corpus, Gemma special ids, lossless
// encode/decode round trips (byte fallback for unseen characters), determinism, bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "data_test_util.h"
#include "hld/data/piece_scores.h"
#include "hld/data/tokenizer.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "hld/util/hash.h"

namespace hld::data {
namespace {

using testing::TempDir;

TEST(Tokenizer, TrainsSmallUnigramModelWithGemmaIdsAndRoundTrips) {
  TempDir tmp;
  const auto docs = testing::corpus_docs(350);
  const std::vector<std::string> train(docs.begin(), docs.begin() + 300), held(docs.begin() + 300, docs.end());
  const std::string model = testing::train_small_tokenizer(tmp.path(), train);
  EXPECT_EQ(model, tmp / "tok.model");
  EXPECT_TRUE(std::filesystem::exists(tmp / "tok.vocab"));
  const auto meta = nlohmann::json::parse(util::read_file(tmp / "tok.json"));
  EXPECT_EQ(meta["documents_sampled"], 300);

  Tokenizer tok(model);
  EXPECT_EQ(tok.vocab_size(), 800);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.eos_id(), 1);
  EXPECT_EQ(tok.bos_id(), 2);
  EXPECT_EQ(tok.unk_id(), 3);
  EXPECT_EQ(tok.id_to_piece(1), "</s>");
  // The tokenizer hash (recorded in every shard header) stays FNV-1a of the model file.
  EXPECT_EQ(tok.hash(), util::file_checksum(model, util::HashAlgo::kFnv1a).str());
  EXPECT_EQ(meta["hash"], tok.hash());

  size_t tokens = 0, bytes = 0;
  for (const auto& d : held) {
    const auto ids = tok.encode(d);
    tokens += ids.size();
    bytes += d.size();
    for (int32_t id : ids) {
      ASSERT_GE(id, 4) << "no special ids inside text";
      ASSERT_LT(id, 800);
    }
    EXPECT_EQ(tok.decode(ids), d);
  }
  // A learned vocabulary compresses English well below one token per byte.
  EXPECT_LT(static_cast<double>(tokens) / bytes, 0.5);

  // Unseen characters go through byte fallback and still decode exactly; whitespace is kept.
  const std::string odd = "  Zw\u00f6lf \u2713 \U0001F600 \u4e2d\u6587\t tabs\n\nnew  lines 12345";
  const auto ids = tok.encode(odd);
  EXPECT_EQ(tok.decode(ids), odd);
  EXPECT_TRUE(std::any_of(ids.begin(), ids.end(), [&](int32_t id) { return tok.id_to_piece(id) == "<0xF0>"; }));
  EXPECT_EQ(tok.decode({tok.eos_id()}), "");
  EXPECT_THROW(tok.decode({800}), InputError);
  EXPECT_THROW(tok.decode({-1}), InputError);
}

TEST(Tokenizer, SampleAndModelAreDeterministicForASeed) {
  TempDir tmp;
  testing::write_c4(tmp / "in.jsonl.gz", testing::corpus_docs(400));
  auto train = [&](const std::string& prefix, uint64_t seed) {
    TokenizerTrainOptions o;
    o.inputs = {tmp / "in.jsonl.gz"};
    o.out_prefix = prefix;
    o.vocab_size = 600;
    o.sample_docs = 150;
    o.seed = seed;
    o.num_threads = 1;
    const auto r = train_tokenizer(o);
    EXPECT_EQ(r.documents_seen, 400);
    EXPECT_EQ(r.documents_sampled, 150);
    return util::read_file(r.model_path);
  };
  const std::string a = train(tmp / "a", 7), b = train(tmp / "sub/b", 7), c = train(tmp / "c", 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

// Scores on the 2^-5 grid (piece_scores.h): every piece's score is a multiple of 1/32 within 1/64
// of SentencePiece's own, pieces and ids unchanged, so SentencePiece still loads and encodes with it;
// --score-bits -1 keeps SentencePiece's scores; malformed bytes are an error.
TEST(Tokenizer, ScoresSitOnTheBinaryGrid) {
  TempDir tmp;
  testing::write_c4(tmp / "in.jsonl.gz", testing::corpus_docs(300));
  auto train = [&](const std::string& prefix, int bits) {
    TokenizerTrainOptions o;
    o.inputs = {tmp / "in.jsonl.gz"};
    o.out_prefix = prefix;
    o.vocab_size = 600;
    o.num_threads = 1;
    o.score_bits = bits;
    return train_tokenizer(o).model_path;
  };
  const Tokenizer grid(train(tmp / "grid", kScoreGridBits)), raw(train(tmp / "raw", -1));
  ASSERT_EQ(grid.vocab_size(), raw.vocab_size());
  int off_grid = 0;
  for (int32_t id = 0; id < grid.vocab_size(); ++id) {
    ASSERT_EQ(grid.id_to_piece(id), raw.id_to_piece(id));
    const double g = grid.score(id), r = raw.score(id);
    EXPECT_EQ(g * 32, std::round(g * 32)) << id;
    EXPECT_LE(std::abs(g - r), 1.0 / 64 + 1e-7) << id;
    off_grid += r * 32 != std::round(r * 32);
  }
  EXPECT_GT(off_grid, grid.vocab_size() / 2);  // SentencePiece's own scores are not on it
  EXPECT_EQ(nlohmann::json::parse(util::read_file(tmp / "grid.json"))["score_bits"], kScoreGridBits);
  for (const auto& d : testing::corpus_docs(20)) EXPECT_EQ(grid.decode(grid.encode(d)), d);
  // snap_piece_scores is idempotent, and refuses what is not a proto.
  const std::string bytes = util::read_file(tmp / "grid.model");
  EXPECT_EQ(snap_piece_scores(bytes, kScoreGridBits), bytes);
  EXPECT_NE(snap_piece_scores(bytes, 0), bytes);
  EXPECT_THROW(snap_piece_scores(bytes.substr(0, bytes.size() / 2), 5), std::runtime_error);
  EXPECT_THROW(snap_piece_scores(std::string("\x0a\xff\xff\xff\xff\x0f", 6), 5), std::runtime_error);
}

TEST(Tokenizer, BadInputIsAnErrorAndWritesNothing) {
  TempDir tmp;
  TokenizerTrainOptions o;
  o.inputs = {tmp / "missing.json.gz"};
  o.out_prefix = tmp / "out/tok";
  o.vocab_size = 1000;
  EXPECT_THROW(train_tokenizer(o), InputError);
  EXPECT_FALSE(std::filesystem::exists(tmp / "out"));
  testing::write_c4(tmp / "in.jsonl", {"some text"});
  o.inputs = {tmp / "in.jsonl"};
  o.vocab_size = 100;
  EXPECT_THROW(train_tokenizer(o), InputError);
  o.vocab_size = 1000;
  o.character_coverage = 1.5;
  EXPECT_THROW(train_tokenizer(o), InputError);
  EXPECT_FALSE(std::filesystem::exists(tmp / "out"));

  testing::write_text(tmp / "junk.model", "this is not a protobuf");
  try {
    Tokenizer t(tmp / "junk.model");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(tmp / "junk.model"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Tokenizer(tmp / "absent.model"), InputError);
}

}  // namespace
}  // namespace hld::data
