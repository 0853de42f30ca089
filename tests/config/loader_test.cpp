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

TEST(ConfigLoader, TeacherVocabularyMustCoverTheStudents) {
  auto e = error_of("model: {vocab_size: 100}\nteacher: {model: {vocab_size: 50}}");
  EXPECT_NE(e.find("teacher.model.vocab_size = 50"), std::string::npos);
  // A larger teacher vocabulary loads (its tokenizer is checked when the teacher is: shared_vocab.h).
  EXPECT_EQ(error_of("model: {vocab_size: 100}\nobjective: {top_k: 8}\nteacher: {model: {vocab_size: 164}}"), "");
  EXPECT_NE(error_of("teacher: {max_extra_vocab_mass: 1.5}").find("teacher.max_extra_vocab_mass = 1.5"),
            std::string::npos);
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

// The complete YAML (what a run folder records) has every key, and loads back to the same config,
// also with every value away from its default.
TEST(ConfigLoader, CompleteYamlRoundTripsEveryKey) {
  const auto defaults = flatten(load_string(""));
  EXPECT_EQ(defaults.at("optimizer.beta2"), "0.98");
  EXPECT_EQ(defaults.at("objective.regressor"), "auto");
  EXPECT_EQ(defaults.at("teacher.model"), "~");
  EXPECT_EQ(defaults.at("eval.tasks.lambada"), "");
  EXPECT_GT(defaults.size(), 80u);
  std::vector<std::string> sets = {"run.dir=/x/y",
                                   "run.seed=11",
                                   "run.device=cpu",
                                   "run.dtype=bfloat16",
                                   "run.log_every=3",
                                   "run.checkpoint_every=7",
                                   "run.keep_checkpoints=4",
                                   "run.eval_every=9",
                                   "run.eval_batches=2",
                                   "run.threads=1",
                                   "run.peak_flops=1.5e11",
                                   "run.max_bad_steps=2",
                                   "run.check_resources=false",
                                   "run.exit_signals=SIGUSR2",
                                   "run.time_limit=23h50m",
                                   "data.train=a b",
                                   "data.valid=v",
                                   "data.tokenizer=t.model",
                                   "data.context=64",
                                   "data.batch_size=8",
                                   "data.grad_accum=2",
                                   "data.prefetch=0",
                                   "objective.name=hldf",
                                   "objective.alpha=0.25",
                                   "objective.temperature=2",
                                   "objective.top_k=16",
                                   "objective.gamma=0.3",
                                   "objective.p1=0.05",
                                   "objective.student_layer=1",
                                   "objective.teacher_layer=2",
                                   "objective.regressor=gated_mlp",
                                   "objective.regressor_expansion=2.5",
                                   "objective.hidden_reduction=sum_dims",
                                   "optimizer.lr=0.0001",
                                   "optimizer.beta1=0.8",
                                   "optimizer.beta2=0.9",
                                   "optimizer.eps=1e-8",
                                   "optimizer.weight_decay=0",
                                   "optimizer.decay_norms_and_embeddings=true",
                                   "optimizer.grad_clip=1",
                                   "schedule.warmup_steps=3",
                                   "schedule.decay_fraction=0.2",
                                   "schedule.final_lr_ratio=0.1",
                                   "schedule.hint_lr=0.001",
                                   "schedule.hint_warmup_steps=2",
                                   "budget.unit=ot",
                                   "budget.amount=0.5",
                                   "budget.count_teacher=true",
                                   "teacher.checkpoint=ckpt",
                                   "teacher.source=cache",
                                   "teacher.cache=c",
                                   "teacher.logits_encoding=logq8",
                                   "teacher.hidden_encoding=dir8",
                                   "teacher.cache_tokens=1000",
                                   "eval.tasks.lambada=l.jsonl",
                                   "eval.piqa_labels=p.lst",
                                   "eval.max_examples=5",
                                   "eval.batch_size=2",
                                   "eval.context=32",
                                   "eval.checkpoint=e",
                                   "eval.output=o.json",
                                   "model.name=m",
                                   "model.num_layers=4",
                                   "model.layer_types=[sliding, global, sliding, global]",
                                   "model.rope_global_scaling=8",
                                   "model.rms_norm_eps=1e-5",
                                   "teacher.model.num_layers=4",
                                   "teacher.model.hidden_size=96"};
  const auto c = load_string("", sets);
  const auto flat = flatten(c);
  size_t changed = 0;
  for (const auto& [k, v] : flat) changed += defaults.count(k) && defaults.at(k) != v;
  EXPECT_EQ(changed, sets.size() - 2);  // every override shows (the teacher's two are new keys)
  const auto back = load_string(c.resolved_yaml);
  EXPECT_EQ(back.resolved_yaml, c.resolved_yaml);
  EXPECT_EQ(flatten(back), flat);
  EXPECT_EQ(back.objective.regressor, RegressorKind::kGatedMlp);
  EXPECT_EQ(back.model.layer_type(1), AttentionType::kGlobal);
  EXPECT_EQ(back.teacher.model->hidden_size, 96);
  EXPECT_EQ(back.eval.tasks.at("lambada"), "l.jsonl");
  EXPECT_DOUBLE_EQ(back.optimizer.lr, 1e-4);
  // Shortest round-trip numbers, not 17 digits.
  EXPECT_NE(c.resolved_yaml.find("lr: 0.0001\n"), std::string::npos) << c.resolved_yaml;
}

// Text that could not be written out and read back (NUL, control bytes, invalid UTF-8) is refused
// at load, naming the key.
TEST(ConfigLoader, StringsMustBeUtf8Text) {
  EXPECT_NE(error_of(std::string("run: {dir: \"a\\0b\"}")).find("run.dir: expected UTF-8 text"), std::string::npos);
  EXPECT_NE(error_of("data: {train: \"\\x01x\"}").find("data.train: expected UTF-8 text"), std::string::npos);
  EXPECT_NE(error_of("", {"teacher.cache=x\xffy"}).find("teacher.cache: expected UTF-8 text"), std::string::npos);
  EXPECT_NE(error_of("", {"eval.tasks.c4=\xc0\xaf"}).find("eval.tasks.c4: expected UTF-8 text"), std::string::npos);
  EXPECT_EQ(error_of("", {"run.dir=runs/d\xc3\xa9j\xc3\xa0\tvu"}), "");  // UTF-8 and tabs are fine
}

TEST(ConfigLoader, EvalBosConventionKeys) {
  auto c = load_string("");
  EXPECT_EQ(c.eval.add_bos, "auto");
  EXPECT_EQ(c.eval.prefix_token, "auto");
  EXPECT_NE(c.resolved_yaml.find("add_bos: auto"), std::string::npos);
  c = load_string("eval: {add_bos: true, prefix_token: 7}");
  EXPECT_EQ(c.eval.add_bos, "true");
  EXPECT_EQ(c.eval.prefix_token, "7");
  EXPECT_EQ(load_string(c.resolved_yaml).eval.prefix_token, "7");  // the complete config loads back
  EXPECT_EQ(load_string("", {"eval.add_bos=false", "eval.prefix_token=eos"}).eval.add_bos, "false");
  EXPECT_NE(error_of("eval: {add_bos: yes}").find("eval.add_bos = 'yes': expected one of auto, true, false"),
            std::string::npos);
  EXPECT_NE(error_of("eval: {prefix_token: first}").find("eval.prefix_token = 'first'"), std::string::npos);
  EXPECT_NE(error_of("eval: {prefix_token: -1}").find("eval.prefix_token"), std::string::npos);
  EXPECT_NE(error_of("eval: {prefix_token: 1.5}").find("eval.prefix_token"), std::string::npos);
}

}  // namespace
}  // namespace hld::config
