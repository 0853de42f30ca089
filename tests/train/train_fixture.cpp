// Shared training-test fixtures (see train_fixture.h).
#include "train_fixture.h"

#include <filesystem>

#include "hld/config/loader.h"
#include "hld/train/trainer.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace hld::test {

std::string small_corpus() {
  const std::string corpus = "third_party/corpus/train.jsonl.gz", tok = "tests/data/tiny_tokenizer/tok.model";
  const std::string prepare = "prepare --valid-fraction 0.05 --no-bos";
  return shared_artifact("small-corpus", repo_file(corpus) + repo_file(tok) + prepare, [&](const std::string& dir) {
    auto sub = run_command("zcat " + repo_path(corpus) + " | head -n 3000 > " + dir + "/docs.jsonl");
    ASSERT_EQ(sub.exit_code, 0) << sub.output;
    // The committed tokenizer (tests/data/tiny_tokenizer/README.md): no artefact of these fixtures is
    // trained on the test machine except the tiny teacher, so the golden curves' inputs are fixed.
    fs::copy_file(repo_path(tok), dir + "/tok.model");
    // `text EOS` shards: the layout the golden curves (tests/golden) were recorded on.
    auto prep =
        run_hld(prepare + " --tokenizer " + dir + "/tok.model --input " + dir + "/docs.jsonl --out " + dir + "/shards");
    ASSERT_EQ(prep.exit_code, 0) << prep.output;
  });
}

std::string tiny_experiment_yaml() {
  const std::string c = small_corpus();
  return "run: {seed: 7, device: cpu, log_every: 10, threads: 1, peak_flops: 1.0e11}\n"
         "model: {name: tiny_student, vocab_size: 1024, hidden_size: 32, intermediate_size: 64, num_layers: 2,"
         " num_heads: 2, num_kv_heads: 1, head_dim: 16, query_pre_attn_scalar: 16, sliding_window: 32}\n"
         "data: {train: " +
         c + "/shards/train, valid: " + c + "/shards/valid, tokenizer: " + c +
         "/tok.model, context: 64, batch_size: 16}\n"
         "optimizer: {lr: 0.003}\n"
         "schedule: {warmup_steps: 10, hint_warmup_steps: 5}\n"
         "objective: {top_k: 32, alpha: 0.5, temperature: 1.0, gamma: 0.1, p1: 0.1}\n"
         "budget: {unit: tokens, amount: 150000}\n";
}

std::string tiny_teacher() {
  const std::string yaml = tiny_experiment_yaml();
  const std::vector<std::string> ov = {
      "model.name=tiny_teacher", "model.hidden_size=96", "model.intermediate_size=192",
      "model.num_layers=4",      "model.head_dim=32",    "model.query_pre_attn_scalar=32",
      "budget.amount=600000",    "optimizer.lr=0.004",   "run.log_every=50"};
  std::string inputs = yaml;
  for (const auto& o : ov) inputs += "\n" + o;
  return shared_artifact("tiny-teacher", inputs, [&](const std::string& dir) {
    std::vector<std::string> all = ov;
    all.push_back("run.dir=" + dir);
    auto cfg = config::load_string(yaml, all);
    train::TrainOptions o;
    o.quiet = true;
    auto r = train::run_training(cfg, o);
    ASSERT_TRUE(r.finished);
  });
}

config::ExperimentConfig tiny_config(const std::vector<std::string>& overrides) {
  std::vector<std::string> all = {"teacher.checkpoint=" + tiny_teacher()};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return config::load_string(tiny_experiment_yaml(), all);
}

}  // namespace hld::test
