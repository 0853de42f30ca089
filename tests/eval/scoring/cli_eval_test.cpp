// `hld-train eval` end to end: a saved uniform model with a training state.json, the task fixtures,
// a real tokenizer → the eval JSON; a malformed task file → exit 2 naming file and line, nothing
// written.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../tasks/eval_test_util.h"
#include "hld/model/model_io.h"
#include "hld/util/fs.h"

#ifdef HLD_TRAIN_BIN

namespace hld::eval {
namespace {

using testing::fixture;
using testing::TempDir;
using testing::write_file;

int run_cli(const std::string& args, const std::string& log) {
  const std::string cmd = std::string(HLD_TRAIN_BIN) + " " + args + " > " + log + " 2>&1";
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(CliEval, WritesEvalJsonAndRejectsBadTaskFiles) {
  TempDir dir;
  const int64_t V = 512;
  const std::string tok = testing::train_fixture_tokenizer(dir.path(), V);
  model::Transformer m(testing::tiny_eval_model(V));
  {
    torch::NoGradGuard ng;
    m->embed_tokens->weight.zero_();
  }
  const std::string ckpt = dir / "run/checkpoints/step-00000007";
  model::save_model_dir(m, ckpt);
  write_file(ckpt + "/state.json", R"({"step": 7, "tokens": 12345, "flops": 6.5e12, "checksums": {}})");
  const std::string cfg = write_file(dir / "eval.yaml", "run: {dir: " + dir / "run" +
                                                            ", device: cpu}\n"
                                                            "data: {tokenizer: " +
                                                            tok +
                                                            ", context: 64}\n"
                                                            "eval:\n"
                                                            "  tasks:\n"
                                                            "    hellaswag: " +
                                                            fixture("hellaswag_val.jsonl") +
                                                            "\n"
                                                            "    piqa: " +
                                                            fixture("piqa_valid.jsonl") +
                                                            "\n"
                                                            "    wikitext: " +
                                                            fixture("wiki.test.raw") +
                                                            "\n"
                                                            "    lambada: " +
                                                            fixture("lambada_test.jsonl") +
                                                            "\n"
                                                            "  piqa_labels: " +
                                                            fixture("piqa_valid-labels.lst") +
                                                            "\n"
                                                            "  batch_size: 4\n");
  // Default checkpoint: the run folder's latest; default output: RUN/eval.json.
  ASSERT_EQ(run_cli("eval " + cfg, dir / "log1.txt"), 0) << util::read_file(dir / "log1.txt");
  const auto j = nlohmann::json::parse(util::read_file(dir / "run/eval.json"));
  EXPECT_EQ(j["tokens"].get<int64_t>(), 12345);
  EXPECT_DOUBLE_EQ(j["flops"].get<double>(), 6.5e12);
  EXPECT_EQ(j["model"]["name"].get<std::string>(), "tiny-eval");
  EXPECT_EQ(j["config"].get<std::string>(), std::filesystem::absolute(cfg).lexically_normal().string());
  EXPECT_FALSE(j["git_revision"].get<std::string>().empty());
  EXPECT_EQ(j["metrics"]["hellaswag"]["examples"].get<int64_t>(), 4);
  EXPECT_EQ(j["metrics"]["piqa"]["examples"].get<int64_t>(), 3);
  EXPECT_EQ(j["metrics"]["lambada"]["acc"].get<double>(), 0.0);
  EXPECT_NEAR(j["metrics"]["wikitext"]["log_perplexity"].get<double>(), std::log(double(V)), 1e-6);
  EXPECT_TRUE(j["summary"].contains("hellaswag/error"));
  EXPECT_GT(j["elapsed_s"].get<double>(), 0.0);
  EXPECT_EQ(j["eval"]["context"].get<int64_t>(), 64);

  // --checkpoint and --out; a model directory without state.json has null tokens/flops.
  const std::string bare = dir / "bare";
  model::save_model_dir(m, bare);
  ASSERT_EQ(
      run_cli("eval " + cfg + " --checkpoint " + bare + " --out " + dir / "out/e.json" + " --set eval.max_examples=2",
              dir / "log2.txt"),
      0)
      << util::read_file(dir / "log2.txt");
  const auto k = nlohmann::json::parse(util::read_file(dir / "out/e.json"));
  EXPECT_TRUE(k["tokens"].is_null());
  EXPECT_TRUE(k["flops"].is_null());
  EXPECT_EQ(k["metrics"]["hellaswag"]["examples"].get<int64_t>(), 2);

  // Malformed task file: exit 2, the message names file and line, nothing written.
  const std::string bad = write_file(dir / "bad_hellaswag.jsonl",
                                     R"({"activity_label":"a","ctx_a":"b","ctx_b":"c","endings":["x","y"],"label":0})"
                                     "\n"
                                     R"({"activity_label":"a","ctx_a":"b","ctx_b":"c","endings":["x","y"]})"
                                     "\n");
  EXPECT_EQ(
      run_cli("eval " + cfg + " --set eval.tasks.hellaswag=" + bad + " --out " + dir / "bad.json", dir / "log3.txt"),
      2);
  const std::string log = util::read_file(dir / "log3.txt");
  EXPECT_NE(log.find(bad + ":2"), std::string::npos) << log;
  EXPECT_NE(log.find("label"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.json"));
  const std::string labels = write_file(dir / "short.lst", "0\n");
  EXPECT_EQ(
      run_cli("eval " + cfg + " --set eval.piqa_labels=" + labels + " --out " + dir / "bad.json", dir / "log4.txt"), 2);
  EXPECT_NE(util::read_file(dir / "log4.txt").find("shorter than the data"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.json"));
}

}  // namespace
}  // namespace hld::eval

#endif  // HLD_TRAIN_BIN
