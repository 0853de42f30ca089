// Checkpoints written before the hint regressor held one sub-module per hidden pair name the
// paper's single pair's parameters "proj.weight" (optimizer state "exp_avg/regressor.proj.weight");
// today's are "pair0.proj.weight". Such a checkpoint still loads, into the same values.
#include <gtest/gtest.h>

#include <filesystem>

#include "hld/config/loader.h"
#include "hld/io/safetensors.h"
#include "hld/objectives/regressor.h"
#include "hld/train/adamw.h"
#include "hld/train/checkpoint.h"
#include "test_util.h"

namespace hld::train {
namespace {

namespace fs = std::filesystem;

// Rewrites a safetensors file with every key passed through `rename`.
void rename_keys(const std::string& path, const std::function<std::string(const std::string&)>& rename) {
  auto f = io::load_safetensors(path);
  io::TensorMap out;
  for (const auto& [k, t] : f.tensors) out.emplace(rename(k), t.clone());
  io::save_safetensors(path, out, f.metadata);
}

std::string strip_pair0(const std::string& k) {
  const auto at = k.find("pair0.");
  return at == std::string::npos ? k : k.substr(0, at) + k.substr(at + 6);
}

TEST(LegacyRegressor, CheckpointWithoutPairPrefixLoads) {
  const auto cfg = config::load_string(
      "model: {vocab_size: 40, hidden_size: 8, intermediate_size: 16, num_layers: 2, num_heads: 2,"
      " num_kv_heads: 1, head_dim: 4, query_pre_attn_scalar: 4, sliding_window: 4}\n"
      "teacher: {model: {vocab_size: 40, hidden_size: 12, intermediate_size: 16, num_layers: 2, num_heads: 2,"
      " num_kv_heads: 1, head_dim: 4, query_pre_attn_scalar: 4, sliding_window: 4}}\n"
      "objective: {name: hldf, top_k: 8}\n");
  test::TempDir dir;
  torch::manual_seed(1);
  model::Transformer student(cfg.model);
  auto reg = objectives::make_regressor(cfg, *cfg.teacher.model);
  auto params = param_groups(*student, cfg.optimizer);
  for (auto& p : param_groups(*reg, cfg.optimizer, "regressor.")) params.push_back(p);
  AdamW opt(params, cfg.optimizer);
  for (auto& p : params) p.tensor.mutable_grad() = torch::randn_like(p.tensor);
  opt.step(1e-3);
  TrainState st;
  st.step = 1;
  const std::string ckpt = save_checkpoint(dir.path(), st, student, &reg, opt, 2);

  // Make it an old checkpoint: no "pair0." in the regressor's or the optimizer state's names.
  rename_keys(ckpt + "/regressor.safetensors", strip_pair0);
  rename_keys(ckpt + "/optimizer.safetensors", strip_pair0);
  ASSERT_FALSE(io::load_safetensors(ckpt + "/regressor.safetensors").tensors.count("pair0.up.weight"));
  ASSERT_TRUE(io::load_safetensors(ckpt + "/regressor.safetensors").tensors.count("up.weight"));

  torch::manual_seed(2);  // other initial values, overwritten by the load
  model::Transformer student2(cfg.model);
  auto reg2 = objectives::make_regressor(cfg, *cfg.teacher.model);
  auto params2 = param_groups(*student2, cfg.optimizer);
  for (auto& p : param_groups(*reg2, cfg.optimizer, "regressor.")) params2.push_back(p);
  AdamW opt2(params2, cfg.optimizer);
  load_checkpoint(ckpt, student2, &reg2, &opt2);

  auto a = reg->named_parameters(), b = reg2->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& it : a) EXPECT_TRUE(torch::equal(it.value(), b[it.key()])) << it.key();
  const auto sa = opt.state(), sb = opt2.state();
  ASSERT_EQ(sa.size(), sb.size());
  for (const auto& [k, t] : sa) EXPECT_TRUE(torch::equal(t, sb.at(k))) << k;
  EXPECT_TRUE(sa.count("exp_avg/regressor.pair0.up.weight"));
}

}  // namespace
}  // namespace hld::train
