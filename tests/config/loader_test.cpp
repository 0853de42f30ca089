// Config loading: strict keys, types, ranges, includes, overrides, parameter counts.
#include <gtest/gtest.h>

#include <fstream>

#include "hld/config/hf_config.h"
#include "hld/config/loader.h"
#include "hld/util/error.h"
#include "test_util.h"

namespace hld::config {
namespace {

std::string error_of(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  try {
    load_string(yaml, sets, test::repo_path("configs"));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigLoader, DefaultsAndOverrides) {
  auto c = load_string("objective: {name: kd, alpha: 0.7}\noptimizer: {lr: 1e-3}\n",
                       {"objective.temperature=0.5", "data.context=128", "run.dir=/tmp/x"});
  EXPECT_EQ(c.objective.name, Objective::kKd);
  EXPECT_DOUBLE_EQ(c.objective.alpha, 0.7);
  EXPECT_DOUBLE_EQ(c.objective.temperature, 0.5);
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 1e-3);
  EXPECT_EQ(c.data.context, 128);
  EXPECT_EQ(c.run.dir, "/tmp/x");
  EXPECT_DOUBLE_EQ(c.optimizer.beta2, 0.98);
  EXPECT_DOUBLE_EQ(c.optimizer.eps, 1e-9);
  EXPECT_NE(c.resolved_yaml.find("temperature: 0.5"), std::string::npos);
}

TEST(ConfigLoader, UnknownKeyNamesPath) {
  EXPECT_NE(error_of("optimizer: {lrr: 1}").find("optimizer.lrr: unknown key"), std::string::npos);
  EXPECT_NE(error_of("bogus: 1").find("bogus: unknown key"), std::string::npos);
  EXPECT_NE(error_of("", {"model.hiden_size=3"}).find("model.hiden_size"), std::string::npos);
}

TEST(ConfigLoader, WrongTypeNamesPathAndValue) {
  auto e = error_of("optimizer: {lr: fast}");
  EXPECT_NE(e.find("optimizer.lr"), std::string::npos);
  EXPECT_NE(e.find("fast"), std::string::npos);
  EXPECT_NE(error_of("data: {context: 1.5}").find("data.context"), std::string::npos);
  EXPECT_NE(error_of("run: {seed: [1]}").find("run.seed"), std::string::npos);
  EXPECT_NE(error_of("objective: {name: kdd}").find("expected one of nll, kd, hldc, hldf"), std::string::npos);
}

TEST(ConfigLoader, OutOfRangeValues) {
  EXPECT_NE(error_of("optimizer: {lr: -1}").find("optimizer.lr = -1"), std::string::npos);
  EXPECT_NE(error_of("objective: {alpha: 1.5}").find("objective.alpha = 1.5"), std::string::npos);
  EXPECT_NE(error_of("objective: {temperature: 0}").find("objective.temperature"), std::string::npos);
  EXPECT_NE(error_of("model: {num_heads: 3, num_kv_heads: 2}").find("model.num_heads = 3"), std::string::npos);
  EXPECT_NE(error_of("data: {batch_size: 6, grad_accum: 4}").find("data.batch_size = 6"), std::string::npos);
  EXPECT_NE(error_of("objective: {student_layer: 99}").find("objective.student_layer"), std::string::npos);
  EXPECT_NE(error_of("run: {device: tpu}").find("run.device"), std::string::npos);
}

TEST(ConfigLoader, TeacherVocabularyMustMatch) {
  auto e = error_of("model: {vocab_size: 100}\nteacher: {model: {vocab_size: 200}}");
  EXPECT_NE(e.find("teacher.model.vocab_size = 200"), std::string::npos);
}

TEST(ConfigLoader, ModelIncludeAndBase) {
  test::TempDir dir;
  std::ofstream(dir / "base.yaml") << "model: " << test::repo_path("configs/models/student_123m.yaml")
                                   << "\noptimizer: {lr: 0.002}\n";
  std::ofstream(dir / "exp.yaml") << "base: base.yaml\nobjective: {name: hldf}\n";
  auto c = load(dir / "exp.yaml", {"model.num_layers=4"});
  EXPECT_EQ(c.model.hidden_size, 640);
  EXPECT_EQ(c.model.num_layers, 4);
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.002);
  EXPECT_EQ(c.regressor_kind(), RegressorKind::kMlp);
  EXPECT_EQ(c.student_hint_layer(), 2);
}

TEST(ConfigLoader, MissingFileIsInputError) {
  EXPECT_THROW(load("/nonexistent/x.yaml"), InputError);
  EXPECT_THROW(load_string("a: [1, 2"), InputError);  // invalid YAML
  EXPECT_THROW(load_string("", {"noequals"}), InputError);
}

TEST(ModelConfig, PaperParameterCounts) {
  auto s = load_model(test::repo_path("configs/models/student_123m.yaml"));
  auto p = count_params(s);
  EXPECT_EQ(p.total, 120806016);
  EXPECT_EQ(p.backbone, 100326016);
  EXPECT_EQ(p.embedding, 20480000);
  auto l = count_params(load_model(test::repo_path("configs/models/student_735m.yaml")));
  EXPECT_EQ(l.total, 734760064);
  EXPECT_EQ(l.backbone, 697896064);
  auto t = load_model(test::repo_path("configs/models/teacher_4b.yaml"));
  EXPECT_EQ(t.rope_global_scaling, 8);
  EXPECT_EQ(t.layer_type(5), AttentionType::kGlobal);
  EXPECT_EQ(t.layer_type(4), AttentionType::kSliding);
}

TEST(HfConfig, FlatAndRopeParametersForms) {
  const std::string flat = R"({"model_type":"gemma3_text","vocab_size":100,"hidden_size":16,
    "intermediate_size":32,"num_hidden_layers":3,"num_attention_heads":2,"num_key_value_heads":1,
    "head_dim":8,"query_pre_attn_scalar":8,"sliding_window":4,"rope_theta":500000.0,
    "rope_local_base_freq":5000.0,"rope_scaling":{"rope_type":"linear","factor":8.0},
    "sliding_window_pattern":2})";
  auto m = model_from_hf_json(flat, "flat.json");
  EXPECT_EQ(m.rope_global_base, 500000.0);
  EXPECT_EQ(m.rope_local_base, 5000.0);
  EXPECT_EQ(m.rope_global_scaling, 8.0);
  EXPECT_EQ(m.rope_local_scaling, 1.0);
  EXPECT_EQ(m.layer_type(1), AttentionType::kGlobal);
  auto back = model_from_hf_json(model_to_hf_json(m), "roundtrip.json");
  EXPECT_EQ(back.rope_global_scaling, 8.0);
  EXPECT_EQ(back.rope_local_base, 5000.0);
  EXPECT_EQ(back.layer_type(1), AttentionType::kGlobal);
  EXPECT_EQ(back.layer_type(2), AttentionType::kSliding);
  EXPECT_THROW(model_from_hf_json(R"({"final_logit_softcapping": 30.0})", "x"), InputError);
  EXPECT_THROW(model_from_hf_json(R"({"rope_scaling": {"rope_type": "yarn", "factor": 2}})", "x"), InputError);
  EXPECT_THROW(model_from_hf_json("{not json", "x"), InputError);
}

}  // namespace
}  // namespace hld::config
