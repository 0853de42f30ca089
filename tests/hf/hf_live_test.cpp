// Parity with Hugging Face transformers itself, at test time: scripts/referee/hf_models.py builds
// Gemma 3 text models in transformers (GQA 1:1/2:1/4:1, head_dim ≠ hidden/heads,
// query_pre_attn_scalar ≠ head_dim, linear RoPE on global layers, a short sliding window, the
// 123M student shape with 6 layers, bf16 and sharded saves) and writes transformers' logits,
// hidden states and parameter gradients; verify_hf_dir must match them. Negative controls show a
// wrong attention scale or an unscaled RoPE fails. The reverse: an exported trained model loads in
// AutoModelForCausalLM / AutoTokenizer with the same logits, gradients and token ids.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <iostream>
#include <set>

#include "hld/data/corpus_reader.h"
#include "hld/data/tokenizer.h"
#include "hld/hf/gemma3_hf.h"
#include "hld/model/model_io.h"
#include "hld/util/fs.h"
#include "referee/referee_util.h"
#include "test_util.h"
#include "train/train_fixture.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace hld::hf {
namespace {

// float32 against transformers in float32: the bound. Measured worst over every tensor
// of every float32 configuration: 1.5e-6 (each test prints its "worst").
constexpr double kF32Tolerance = 1e-5;
// bf16 weights run in bf16 by both (transformers and hld-train): each rounds its own products, so
// the two differ by a few bf16 ulps (2^-8 relative) that add up over the 7 layers. Measured
// (transformers 5.23, torch 2.11 CPU): logits 7.2e-3, hidden states 1.7e-2, gradients 3.1e-2 (a
// norm weight's, the worst).
constexpr double kBf16Tolerance = 5e-2;

// Every configuration of hf_models.py, with the dtype both sides compute in.
const std::vector<std::pair<std::string, torch::ScalarType>> kConfigs = {
    {"gqa_1to1", torch::kFloat32},      {"gqa_2to1", torch::kFloat32},        {"gqa_4to1", torch::kFloat32},
    {"head_dim_48", torch::kFloat32},   {"qpas_50", torch::kFloat32},         {"rope_linear8", torch::kFloat32},
    {"window_5", torch::kFloat32},      {"student_123m_6l", torch::kFloat32}, {"bf16_weights", torch::kFloat32},
    {"bf16_compute", torch::kBFloat16}, {"sharded", torch::kFloat32}};

/// The folders hf_models.py writes, built once per build tree (keyed on the two scripts).
std::string hf_models() {
  return test::shared_artifact("hf-live-models",
                               test::repo_file("scripts/referee/hf_models.py") +
                                   test::repo_file("scripts/referee/hf_reference.py") + test::venv_python(),
                               [](const std::string& dir) {
                                 HLD_REQUIRE_VENV_PYTHON();
                                 auto r = test::run_referee("hf_models.py", dir);
                                 ASSERT_EQ(r.exit_code, 0) << r.output;
                               });
}

/// Checks every tensor of `res` was compared and is within `tol`; returns the worst error.
double expect_within(const VerifyResult& res, double tol, const std::string& what) {
  int grads = 0;
  for (const auto& t : res.tensors) {
    EXPECT_TRUE(t.compared) << what << ": " << t.name << " has no counterpart";
    EXPECT_LE(t.max_rel_error, tol) << what << ": " << t.name;
    grads += t.name.rfind("grad.", 0) == 0;
  }
  EXPECT_GT(grads, 10) << what << ": the reference holds no gradients";
  std::cout << what << ": worst " << res.worst << " over " << res.tensors.size() << " tensors (" << grads
            << " gradients)\n";
  return res.worst;
}

class HfLive : public ::testing::TestWithParam<std::pair<std::string, torch::ScalarType>> {};

TEST_P(HfLive, MatchesTransformers) {
  HLD_REQUIRE_VENV_PYTHON();
  const auto& [name, dtype] = GetParam();
  const std::string root = hf_models();
  const json manifest = json::parse(util::read_file(root + "/manifest.json"));
  std::set<std::string> listed;
  for (const auto& e : manifest["configurations"]) listed.insert(e["name"].get<std::string>());
  ASSERT_EQ(listed.size(), kConfigs.size()) << "hf_models.py and this test list different configurations";
  ASSERT_TRUE(listed.count(name)) << name;
  const auto res = verify_hf_dir(root + "/" + name, dtype);
  expect_within(res, dtype == torch::kBFloat16 ? kBf16Tolerance : kF32Tolerance, name);
}

INSTANTIATE_TEST_SUITE_P(Configs, HfLive, ::testing::ValuesIn(kConfigs),
                         [](const auto& info) { return info.param.first; });

// A copy of configuration `name` whose config.json is changed by `edit`.
std::string edited_copy(const test::TempDir& dir, const std::string& name, const std::function<void(json&)>& edit) {
  const std::string src = hf_models() + "/" + name, dst = dir / name;
  fs::copy(src, dst, fs::copy_options::recursive);
  json cfg = json::parse(util::read_file(dst + "/config.json"));
  edit(cfg);
  util::write_file_atomic(dst + "/config.json", cfg.dump(1));
  return dst;
}

TEST(HfLiveControls, WrongAttentionScaleOrUnscaledRopeFails) {
  HLD_REQUIRE_VENV_PYTHON();
  test::TempDir dir;
  // query_pre_attn_scalar read as head_dim (the committed fixture cannot tell the two apart).
  const auto scale = edited_copy(dir, "qpas_50", [](json& c) { c["query_pre_attn_scalar"] = c["head_dim"]; });
  EXPECT_GT(verify_hf_dir(scale).worst, 1e-3);
  // Linear RoPE scaling dropped on the global layers.
  const auto rope = edited_copy(dir, "rope_linear8", [](json& c) {
    c["rope_parameters"]["full_attention"] = {{"rope_type", "default"}, {"rope_theta", 500000.0}};
  });
  EXPECT_GT(verify_hf_dir(rope).worst, 1e-3);
  // The window one token wider.
  const auto window = edited_copy(dir, "window_5", [](json& c) { c["sliding_window"] = 6; });
  EXPECT_GT(verify_hf_dir(window).worst, 1e-3);
}

#ifdef HLD_TRAIN_BIN
TEST(HfLiveControls, VerifyCliComparesGradients) {
  HLD_REQUIRE_VENV_PYTHON();
  const std::string sharded = hf_models() + "/sharded";
  auto ok = test::run_hld("verify-hf " + sharded + " --tolerance 1e-5");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("grad.model.layers.6.mlp.down_proj.weight"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("grad.model.embed_tokens.weight"), std::string::npos) << ok.output;
  // bf16 weights and compute: outside the float32 bound, inside the measured bf16 one.
  const std::string bf16 = hf_models() + "/bf16_compute";
  EXPECT_EQ(test::run_hld("verify-hf " + bf16 + " --dtype bfloat16 --tolerance 1e-5").exit_code, 1);
  EXPECT_EQ(test::run_hld("verify-hf " + bf16 + " --dtype bfloat16 --tolerance 5e-2").exit_code, 0);
}

// The first `n` held-out documents of the embedded corpus as JSON lines {"text": ...}.
std::string held_out_texts(int n) {
  data::CorpusReader reader({test::repo_path("third_party/corpus/valid.jsonl.gz")});
  data::Document doc;
  std::string out;
  for (int i = 0; i < n && reader.next(doc);) {
    if (doc.text.size() < 200) continue;  // long enough for a 2 × T batch of a few dozen tokens
    out += json{{"text", doc.text}}.dump() + "\n";
    ++i;
  }
  return out;
}

TEST(HfLive, ExportedModelLoadsInTransformersWithTheSameLogitsAndIds) {
  HLD_REQUIRE_VENV_PYTHON();
  test::TempDir dir;
  const std::string run = test::tiny_teacher();  // a model trained by hld-train on `text EOS` shards
  auto exp = test::run_hld("export-hf " + run + " --out " + dir / "hf");
  ASSERT_EQ(exp.exit_code, 0) << exp.output;
  util::write_file_atomic(dir / "texts.jsonl", held_out_texts(12));
  auto ref = test::run_referee("hf_reference.py", dir / "hf" + " --texts " + dir / "texts.jsonl");
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  // transformers' logits, hidden states and gradients on AutoTokenizer's ids, against ours.
  expect_within(verify_hf_dir(dir / "hf"), kF32Tolerance, "export of a trained model");

  // AutoTokenizer's ids are SentencePiece's, with BOS exactly when the model was trained with it.
  const bool bos = model::read_data_layout(model::resolve_model_dir(run)).bos;
  const json tc = json::parse(util::read_file(dir / "hf/tokenizer_config.json"));
  EXPECT_EQ(tc["add_bos_token"].get<bool>(), bos);
  const json got = json::parse(util::read_file(dir / "hf/hf_token_ids.json"));
  const data::Tokenizer sp(test::small_corpus() + "/tok.model");
  ASSERT_EQ(got["texts"].size(), 12u);
  for (size_t i = 0; i < got["texts"].size(); ++i) {
    std::vector<int> want = sp.encode(got["texts"][i].get<std::string>());
    if (bos) want.insert(want.begin(), sp.bos_id());
    EXPECT_EQ(got["ids"][i].get<std::vector<int>>(), want) << "document " << i;
  }
}
#endif

}  // namespace
}  // namespace hld::hf
