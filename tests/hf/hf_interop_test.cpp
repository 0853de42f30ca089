// Hugging Face interop beyond the single-file fixture: sharded bf16/fp16
// Gemma3ForConditionalGeneration-style copies of the fixture (import, verify-hf, bad shards), the
// export → import round trip through sharded safetensors, and the exported tokenizer checked with
// Hugging Face's own `tokenizers` library (npm) against SentencePiece on the held-out documents
// of the embedded corpus.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "hld/data/corpus_reader.h"
#include "hld/data/tokenizer.h"
#include "hld/hf/any_model.h"
#include "hld/hf/gemma3_hf.h"
#include "hld/hf/hf_tokenizer.h"
#include "hld/hf/hf_weights.h"
#include "hld/io/safetensors.h"
#include "hld/model/model_io.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "test_util.h"
#include "train/train_fixture.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace hld::hf {
namespace {

const std::string kFixture = test::repo_path("tests/data/hf_gemma3_tiny");

io::TensorMap fixture_weights() { return io::load_safetensors(kFixture + "/model.safetensors").tensors; }

// The fixture rewritten the way the hub ships Gemma 3 4B and up: a Gemma3ForConditionalGeneration
// config (text fields under text_config), text weights under `prefix`, a vision tower and a
// projector, `dtype` weights in `shards` files with model.safetensors.index.json.
void write_conditional_copy(const std::string& dir, torch::ScalarType dtype, int shards, const std::string& prefix) {
  fs::create_directories(dir);
  fs::copy_file(kFixture + "/reference.safetensors", dir + "/reference.safetensors");
  json text = json::parse(util::read_file(kFixture + "/config.json"));
  json cfg = {{"architectures", {"Gemma3ForConditionalGeneration"}},
              {"model_type", "gemma3"},
              {"text_config", text},
              {"vision_config", {{"model_type", "siglip_vision_model"}, {"hidden_size", 8}}},
              {"mm_tokens_per_image", 4}};
  util::write_file_atomic(dir + "/config.json", cfg.dump(1));
  io::TensorMap all;
  for (const auto& [name, t] : fixture_weights()) all.emplace(prefix + name.substr(std::strlen("model.")), t.to(dtype));
  all.emplace("vision_tower.vision_model.embeddings.patch_embedding.weight", torch::ones({8, 3, 2, 2}).to(dtype));
  all.emplace("multi_modal_projector.mm_input_projection_weight", torch::ones({8, 64}).to(dtype));
  std::vector<io::TensorMap> parts(shards);
  json map = json::object();
  int i = 0;
  for (const auto& [name, t] : all) {
    const int k = i++ % shards;
    parts[k].emplace(name, t);
    map[name] = "model-0000" + std::to_string(k + 1) + "-of-0000" + std::to_string(shards) + ".safetensors";
  }
  for (int k = 0; k < shards; ++k)
    io::save_safetensors(
        dir + "/model-0000" + std::to_string(k + 1) + "-of-0000" + std::to_string(shards) + ".safetensors", parts[k],
        {{"format", "pt"}});
  util::write_file_atomic(dir + "/model.safetensors.index.json",
                          json{{"metadata", {{"total_size", 0}}}, {"weight_map", map}}.dump(1));
}

// Every parameter of `m` equals the fixture's tensor after a round trip through `dtype`.
void expect_fixture_through(model::Transformer& m, torch::ScalarType dtype) {
  const auto want = fixture_weights();
  auto params = m->named_parameters();
  ASSERT_EQ(params.size(), want.size());
  for (const auto& [name, t] : want) {
    auto* p = params.find(name.substr(std::strlen("model.")));
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(p->scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(*p, t.to(dtype).to(torch::kFloat32))) << name;
  }
}

TEST(HfInterop, ShardedBf16AndFp16ConditionalCopiesImportExactly) {
  test::TempDir dir;
  for (auto [dtype, label] : {std::pair{torch::kBFloat16, "BF16"}, std::pair{torch::kFloat16, "F16"}}) {
    const std::string d = dir / label;
    write_conditional_copy(d, dtype, 3, "language_model.model.");
    ImportStats st;
    auto m = load_hf_dir(d, &st);
    expect_fixture_through(m, dtype);
    EXPECT_TRUE(st.sharded);
    EXPECT_EQ(st.files, 3u);
    EXPECT_EQ(st.ignored, 2);  // vision tower + projector
    EXPECT_EQ(st.dtypes, std::vector<std::string>{label});
  }
}

TEST(HfInterop, ShardSizesParseAsTransformersReadsThem) {
  EXPECT_EQ(parse_shard_size("5GB"), 5000000000ull);
  EXPECT_EQ(parse_shard_size("500MB"), 500000000ull);
  EXPECT_EQ(parse_shard_size("2gb"), 2000000000ull);
  EXPECT_EQ(parse_shard_size("2GiB"), 2147483648ull);
  EXPECT_EQ(parse_shard_size("100KB"), 100000ull);
  EXPECT_EQ(parse_shard_size("123"), 123ull);
  for (const char* bad : {"", "GB", "5XB", "-1GB", "0", "5 GB", "1e3MB"})
    EXPECT_THROW(parse_shard_size(bad), InputError) << bad;
}

TEST(HfInterop, WritesShardsAtTheLimitWithAnIndex) {
  test::TempDir dir;
  auto m = load_hf_dir(kFixture);
  ExportOptions o;
  o.dtype = torch::kBFloat16;
  o.max_shard_bytes = 100000;
  const auto files = export_hf_dir(m, dir / "hf", o);
  const json index = json::parse(util::read_file(dir / "hf/model.safetensors.index.json"));
  std::set<std::string> shards;
  for (const auto& [t, f] : index["weight_map"].items()) shards.insert(f.get<std::string>());
  EXPECT_GT(shards.size(), 2u);
  uint64_t total = 0;
  for (const auto& s : shards) {
    io::MappedSafetensors f(dir / ("hf/" + s));
    uint64_t bytes = 0;
    for (const auto& [name, e] : f.index().tensors) {
      EXPECT_EQ(e.dtype, io::DType::kBF16) << name;
      bytes += e.end - e.begin;
    }
    // Over the limit only when one tensor alone is.
    if (bytes > o.max_shard_bytes) {
      EXPECT_EQ(f.index().tensors.size(), 1u) << s;
    }
    total += bytes;
  }
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), total);
  EXPECT_FALSE(fs::exists(dir / "hf/model.safetensors"));
  // A later single-file export removes the shards it no longer writes.
  export_hf_dir(m, dir / "hf");
  EXPECT_TRUE(fs::exists(dir / "hf/model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "hf/model.safetensors.index.json"));
  for (const auto& s : shards) EXPECT_FALSE(fs::exists(dir / ("hf/" + s))) << s;
}

TEST(HfInterop, ConfigIsACompleteCausalLmConfig) {
  test::TempDir dir;
  auto m = load_hf_dir(kFixture);
  ExportOptions o;
  o.dtype = torch::kBFloat16;
  export_hf_dir(m, dir / "hf", o);
  const json ours = json::parse(util::read_file(dir / "hf/config.json"));
  const json theirs = json::parse(util::read_file(kFixture + "/config.json"));
  for (const auto& [key, v] : theirs.items()) {
    ASSERT_TRUE(ours.contains(key)) << key;
    if (key == "architectures" || key == "dtype" || key == "transformers_version") continue;
    if (v.is_number())
      EXPECT_DOUBLE_EQ(ours[key].get<double>(), v.get<double>()) << key;
    else
      EXPECT_EQ(ours[key], v) << key;
  }
  EXPECT_EQ(ours["architectures"], json::array({"Gemma3ForCausalLM"}));
  EXPECT_EQ(ours["dtype"], "bfloat16");
  const json gen = json::parse(util::read_file(dir / "hf/generation_config.json"));
  EXPECT_EQ(gen["bos_token_id"], 2);
  EXPECT_EQ(gen["eos_token_id"], 1);
}

TEST(HfCli, SpmSettingsOfTheProjectTokenizer) {
  const std::string tok = test::small_corpus() + "/tok.model";
  const SpmSettings s = read_spm_settings(util::read_file(tok), tok);
  EXPECT_EQ(s.model_type, 1);
  EXPECT_TRUE(s.byte_fallback);
  EXPECT_EQ(s.normalizer_name, "identity");
  EXPECT_FALSE(s.add_dummy_prefix);
  EXPECT_FALSE(s.remove_extra_whitespaces);
  EXPECT_TRUE(s.escape_whitespaces);
  EXPECT_EQ(s.piece_types.size(), 1024u);
  const json j = json::parse(tokenizer_json(tok));
  EXPECT_EQ(j["model"]["type"], "Unigram");
  EXPECT_EQ(j["model"]["unk_id"], 3);
  EXPECT_EQ(j["model"]["byte_fallback"], true);
  EXPECT_EQ(j["model"]["vocab"].size(), 1024u);
  EXPECT_EQ(j["normalizer"]["normalizers"].size(), 1u);  // " " → "▁" only: identity, no dummy prefix
  EXPECT_EQ(j["post_processor"]["special_tokens"]["<s>"]["ids"], json::array({2}));
  // Truncated protos are bad input, not a crash.
  const std::string bytes = util::read_file(tok);
  for (size_t cut : {size_t{1}, size_t{7}, bytes.size() / 2})
    EXPECT_THROW(read_spm_settings(bytes.substr(0, cut), "cut.model"), InputError) << cut;
}

#ifdef HLD_TRAIN_BIN
TEST(HfCli, VerifyPassesOnShardedConditionalCopies) {
  test::TempDir dir;
  write_conditional_copy(dir / "f32", torch::kFloat32, 2, "model.language_model.");
  auto ok = test::run_hld("verify-hf " + dir / "f32");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("layer_6_out"), std::string::npos) << ok.output;
  // bf16 weights against the float32 reference: the rounding of the weights shows, within 5e-2.
  write_conditional_copy(dir / "bf16", torch::kBFloat16, 3, "language_model.model.");
  auto bf = test::run_hld("verify-hf " + dir / "bf16" + " --tolerance 5e-2");
  EXPECT_EQ(bf.exit_code, 0) << bf.output;
  auto strict = test::run_hld("verify-hf " + dir / "bf16");
  EXPECT_EQ(strict.exit_code, 1) << strict.output;
}

TEST(HfCli, ShardedImportExportRoundTrip) {
  test::TempDir dir;
  write_conditional_copy(dir / "hub", torch::kBFloat16, 3, "language_model.model.");
  auto imp = test::run_hld("import-hf " + dir / "hub" + " --out " + dir / "ours");
  ASSERT_EQ(imp.exit_code, 0) << imp.output;
  EXPECT_NE(imp.output.find("2 vision"), std::string::npos) << imp.output;
  auto ours = hf::load_model_any(dir / "ours");
  expect_fixture_through(ours, torch::kBFloat16);
  // Export in bf16 at a small shard size and import again: the same bf16 numbers.
  auto exp =
      test::run_hld("export-hf " + dir / "ours" + " --out " + dir / "hf" + " --dtype bfloat16 --max-shard-size 100KB");
  ASSERT_EQ(exp.exit_code, 0) << exp.output;
  ASSERT_TRUE(fs::exists(dir / "hf/model.safetensors.index.json"));
  const HfWeights exported(dir / "hf");
  const HfWeights hub(dir / "hub");
  for (const auto& name : exported.names()) {
    const std::string hub_name = "language_model.model." + name.substr(std::strlen("model."));
    ASSERT_TRUE(hub.contains(hub_name)) << name;
    EXPECT_TRUE(torch::equal(exported.file_of(name).view(name), hub.file_of(hub_name).view(hub_name))) << name;
  }
  auto back = test::run_hld("import-hf " + dir / "hf" + " --out " + dir / "again");
  ASSERT_EQ(back.exit_code, 0) << back.output;
  auto again = hf::load_model_any(dir / "again");
  auto pa = ours->named_parameters(), pb = again->named_parameters();
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), *pb.find(p.key()))) << p.key();
  // float32: export → import is the identity on the fixture itself.
  auto f32 = test::run_hld("export-hf " + kFixture + " --out " + dir / "f32" + " --max-shard-size 200KB");
  ASSERT_EQ(f32.exit_code, 0) << f32.output;
  auto m = load_hf_dir(dir / "f32");
  expect_fixture_through(m, torch::kFloat32);
}

TEST(HfCli, BadShardsAreBadInputNamingTheFile) {
  test::TempDir dir;
  const std::string d = dir / "hub";
  write_conditional_copy(d, torch::kBFloat16, 3, "language_model.model.");
  const std::string index = util::read_file(d + "/model.safetensors.index.json");
  auto expect_bad = [&](const std::string& what, const std::string& needle) {
    auto r = test::run_hld("import-hf " + d + " --out " + dir / "out");
    EXPECT_EQ(r.exit_code, 2) << what << ": " << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << what << ": " << r.output;
    EXPECT_FALSE(fs::exists(dir / "out")) << what;
    auto v = test::run_hld("verify-hf " + d);
    EXPECT_EQ(v.exit_code, 2) << what << ": " << v.output;
  };
  // A missing shard.
  fs::rename(d + "/model-00002-of-00003.safetensors", dir / "moved");
  expect_bad("missing shard", "model-00002-of-00003.safetensors");
  fs::rename(dir / "moved", d + "/model-00002-of-00003.safetensors");
  // A tensor in two shards: shard 1 also holds one of shard 2's tensors.
  json j = json::parse(index);
  std::string in2;
  for (const auto& [t, f] : j["weight_map"].items())
    if (f == "model-00002-of-00003.safetensors") in2 = t;
  auto s1 = io::load_safetensors(d + "/model-00001-of-00003.safetensors").tensors;
  const auto s1_orig = s1;
  s1.emplace(in2, io::load_safetensors(d + "/model-00002-of-00003.safetensors").tensors.at(in2));
  io::save_safetensors(d + "/model-00001-of-00003.safetensors", s1);
  expect_bad("tensor in two shards", "two shards");
  // A tensor in a shard that the map does not list.
  s1 = s1_orig;
  s1.emplace("language_model.model.extra.weight", torch::ones({2}));
  io::save_safetensors(d + "/model-00001-of-00003.safetensors", s1);
  expect_bad("tensor not in the map", "extra.weight");
  io::save_safetensors(d + "/model-00001-of-00003.safetensors", s1_orig);
  // The map lists a tensor twice (JSON would keep only one of the two).
  std::string dup = index;
  dup.insert(dup.find("\"weight_map\": {") + 15, "\n  \"" + in2 + "\": \"model-00001-of-00003.safetensors\",");
  util::write_file_atomic(d + "/model.safetensors.index.json", dup);
  expect_bad("tensor listed twice", "twice");
  // A shard name outside the directory.
  json esc = json::parse(index);
  esc["weight_map"][in2] = "../model-00002-of-00003.safetensors";
  util::write_file_atomic(d + "/model.safetensors.index.json", esc.dump());
  expect_bad("shard outside the directory", "expected a file name inside the model directory");
  util::write_file_atomic(d + "/model.safetensors.index.json", index);
  auto ok = test::run_hld("import-hf " + d + " --out " + dir / "out");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

// Where scripts/npm_deps.sh installs the npm packages of the tests.
std::string npm_modules() {
  if (const char* env = std::getenv("HLD_NPM_MODULES")) return env;
  return (fs::path(HLD_TEST_ARTIFACTS).parent_path() / "npm" / "node_modules").string();
}

TEST(HfCli, ExportedTokenizerMatchesSentencePieceInTokenizers) {
  const std::string modules = npm_modules();
  ASSERT_TRUE(fs::exists(modules + "/tokenizers/package.json"))
      << "npm package tokenizers not found in " << modules << ": run scripts/npm_deps.sh (scripts/setup.sh does)";
  test::TempDir dir;
  // A trained model exported from its run folder: the tokenizer comes from the run's data.tokenizer.
  // It was trained on `text EOS` shards: its tokenizer adds no BOS and declares none.
  auto exp = test::run_hld("export-hf " + test::tiny_teacher() + " --out " + dir / "hf" + " --dtype bfloat16");
  ASSERT_EQ(exp.exit_code, 0) << exp.output;
  for (const char* f : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.model",
                        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    EXPECT_TRUE(fs::exists(dir / ("hf/" + std::string(f)))) << f;
  const std::string tok_path = test::small_corpus() + "/tok.model";
  EXPECT_EQ(util::read_file(dir / "hf/tokenizer.model"), util::read_file(tok_path));
  const json tc = json::parse(util::read_file(dir / "hf/tokenizer_config.json"));
  EXPECT_EQ(tc["add_bos_token"], false);
  EXPECT_FALSE(tc.contains("bos_token"));
  EXPECT_EQ(json::parse(util::read_file(dir / "hf/special_tokens_map.json"))["eos_token"]["content"], "</s>");
  // The same weights recorded as trained on `BOS text EOS`: BOS added and declared.
  auto m = hf::load_model_any(test::tiny_teacher());
  model::save_model_dir(m, dir / "bos_model", {/*bos=*/true, "train"});
  auto exp_bos =
      test::run_hld("export-hf " + dir / "bos_model" + " --out " + dir / "hf_bos" + " --tokenizer " + tok_path);
  ASSERT_EQ(exp_bos.exit_code, 0) << exp_bos.output;
  const json tc_bos = json::parse(util::read_file(dir / "hf_bos/tokenizer_config.json"));
  EXPECT_EQ(tc_bos["add_bos_token"], true);
  EXPECT_EQ(tc_bos["bos_token"], "<s>");

  // SentencePiece's ids for every held-out document of the embedded corpus.
  const data::Tokenizer sp(tok_path);
  data::CorpusReader reader({test::repo_path("third_party/corpus/valid.jsonl.gz")});
  data::Document doc;
  std::string expected, expected_bos;
  int docs = 0;
  while (reader.next(doc)) {
    expected += json{{"text", doc.text}, {"ids", sp.encode(doc.text)}, {"bos", nullptr}}.dump() + "\n";
    expected_bos += json{{"text", doc.text}, {"ids", sp.encode(doc.text)}, {"bos", sp.bos_id()}}.dump() + "\n";
    ++docs;
  }
  ASSERT_GT(docs, 50);
  util::write_file_atomic(dir / "expected.jsonl", expected);
  util::write_file_atomic(dir / "expected_bos.jsonl", expected_bos);
  // --strict: not even an exact tie may differ (hld-train's scores sit on a binary grid, piece_scores.h).
  const std::string node = "node " + test::repo_path("tests/hf/tokenizers_check.js") + " --strict " + modules + " ";
  const std::string check = node + dir / "hf/tokenizer.json ";
  auto r = test::run_command(check + dir / "expected.jsonl");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("identical to SentencePiece"), std::string::npos) << r.output;
  auto rb = test::run_command(node + dir / "hf_bos/tokenizer.json " + dir / "expected_bos.jsonl");
  EXPECT_EQ(rb.exit_code, 0) << rb.output;
  // Each check fails when the other convention is expected of it.
  EXPECT_EQ(test::run_command(check + dir / "expected_bos.jsonl").exit_code, 1);
  EXPECT_EQ(test::run_command(node + dir / "hf_bos/tokenizer.json " + dir / "expected.jsonl").exit_code, 1);

  // The check fails on one changed id.
  const size_t at = expected.find("\"ids\":[") + 7;
  std::string one_off = expected;
  one_off.insert(at, "1,");  // EOS: never produced by encoding text
  util::write_file_atomic(dir / "one_off.jsonl", one_off);
  auto bad = test::run_command(check + dir / "one_off.jsonl");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("differ at token 0"), std::string::npos) << bad.output;
}
#endif

}  // namespace
}  // namespace hld::hf
