// lm-evaluation-harness itself as the referee of `hld-train eval`: a tiny student is trained with
// KD, exported with `export-hf`, and scored by `lm_eval --model hf` on the harness's own task
// definitions (scripts/referee/lm_eval_tasks.py: the official YAMLs `include`d, pointed at local
// files converted to each dataset's schema, offline) and by `hld-train eval` on the same files in
// their original formats. Both conventions: the student as trained (`text EOS`: no BOS, EOS the
// prefix) and the same weights recorded as trained on `BOS text EOS`. The lm_eval command line is
// README's plain one (`pretrained=DIR`, plus the scoring window): the exported tokenizer says
// which convention applies. Accuracies must be identical, perplexities within 1e-4 relative;
// Wikitext under BOS differs by design (docs/evaluation.md) and is checked for the direction.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "hld/hf/any_model.h"
#include "hld/model/model_io.h"
#include "hld/train/trainer.h"
#include "hld/util/fs.h"
#include "referee/referee_util.h"
#include "test_util.h"
#include "train/train_fixture.h"

#ifdef HLD_TRAIN_BIN

namespace fs = std::filesystem;
using nlohmann::json;

namespace hld::eval {
namespace {

constexpr int kContext = 64;  // hld-train's eval.context and the harness's max_length

std::string data(const std::string& name) { return test::repo_path("tests/data/eval/" + name); }

/// A tiny student distilled (KD) from the tiny teacher: the model both tools score.
std::string student() {
  return test::shared_artifact(
             "lm-eval-student", test::tiny_experiment_yaml() + "kd 60000",
             [](const std::string& dir) {
               auto cfg = test::tiny_config({"run.dir=" + dir + "/run", "objective.name=kd", "budget.amount=60000"});
               train::TrainOptions o;
               o.quiet = true;
               ASSERT_TRUE(train::run_training(cfg, o).finished);
             }) +
         "/run";
}

/// The harness's tasks on the evaluation fixtures (built per test: they name absolute paths).
std::string harness_tasks(const test::TempDir& dir) {
  const std::string args = dir / "harness" + " --hellaswag " + data("hellaswag_val.jsonl") + " --piqa " +
                           data("piqa_valid.jsonl") + " --piqa-labels " + data("piqa_valid-labels.lst") +
                           " --arc-easy " + data("ARC-Easy-Test.jsonl") + " --winogrande " +
                           data("winogrande_dev.jsonl") + " --lambada " + data("lambada_test.jsonl") + " --wikitext " +
                           data("wiki.test.raw");
  auto r = test::run_referee("lm_eval_tasks.py", args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return dir / "harness/tasks";
}

/// `hld-train eval` on the original files; returns eval.json's metrics.
json hld_eval(const test::TempDir& dir, const std::string& model, const std::string& label) {
  const std::string cfg = dir / ("eval-" + label + ".yaml");
  util::write_file_atomic(
      cfg, "run: {dir: " + dir / "runs" + ", device: cpu}\n" + "data: {tokenizer: " + test::small_corpus() +
               "/tok.model, context: " + std::to_string(kContext) + "}\n" + "eval:\n  batch_size: 8\n  tasks:\n" +
               "    hellaswag: " + data("hellaswag_val.jsonl") + "\n    piqa: " + data("piqa_valid.jsonl") +
               "\n    arc_easy: " + data("ARC-Easy-Test.jsonl") + "\n    winogrande: " + data("winogrande_dev.jsonl") +
               "\n    lambada: " + data("lambada_test.jsonl") + "\n    wikitext: " + data("wiki.test.raw") +
               "\n  piqa_labels: " + data("piqa_valid-labels.lst") + "\n");
  const std::string out = dir / ("eval-" + label + ".json");
  auto r = test::run_hld("eval " + cfg + " --checkpoint " + model + " --out " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return json::parse(util::read_file(out))["metrics"];
}

/// README's command: `lm_eval --model hf --model_args pretrained=DIR` (+ max_length, float32, CPU).
json lm_eval(const test::TempDir& dir, const std::string& hf, const std::string& tasks, const std::string& label) {
  const std::string out = dir / ("lm_eval-" + label);
  const std::string cmd =
      "HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 "
      "HF_DATASETS_CACHE=" +
      dir / "hf_datasets_cache" + " " + test::repo_path(".venv/bin/lm_eval") +
      " --model hf --model_args pretrained=" + hf + ",dtype=float32,max_length=" + std::to_string(kContext) +
      " --tasks hld_hellaswag,hld_piqa,hld_arc_easy,hld_winogrande,hld_lambada_openai,hld_wikitext"
      " --include_path " +
      tasks + " --batch_size 8 --device cpu --output_path " + out;
  auto r = test::run_command(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const auto& e : fs::recursive_directory_iterator(out))
    if (e.path().filename().string().rfind("results_", 0) == 0)
      return json::parse(util::read_file(e.path().string()))["results"];
  ADD_FAILURE() << "lm_eval wrote no results_*.json under " << out << ":\n" << r.output;
  return json::object();
}

double rel(double a, double b) { return a == b ? 0.0 : std::abs(a - b) / std::abs(b); }

/// Prints the two tools side by side and checks the bounds; `wikitext_exact`: false under BOS.
void compare(const json& ours, const json& theirs, const std::string& label, bool wikitext_exact) {
  auto row = [&](const std::string& task, const std::string& metric, double a, double b) {
    std::cout << std::setprecision(10) << label << "  " << task << "/" << metric << ": hld-train " << a << "  lm_eval "
              << b << "  (rel. " << std::setprecision(2) << rel(a, b) << ")\n";
  };
  for (const auto& [task, harness_task, norm] : {std::tuple{"hellaswag", "hld_hellaswag", true},
                                                 {"piqa", "hld_piqa", true},
                                                 {"arc_easy", "hld_arc_easy", true},
                                                 {"winogrande", "hld_winogrande", false},
                                                 {"lambada", "hld_lambada_openai", false}}) {
    const json& a = ours.at(task);
    const json& b = theirs.at(harness_task);
    row(task, "acc", a["acc"], b["acc,none"]);
    EXPECT_EQ(a["acc"].get<double>(), b["acc,none"].get<double>()) << label << " " << task;
    if (norm) {
      row(task, "acc_norm", a["acc_norm"], b["acc_norm,none"]);
      EXPECT_EQ(a["acc_norm"].get<double>(), b["acc_norm,none"].get<double>()) << label << " " << task;
    }
  }
  const double lp = ours["lambada"]["perplexity"], lt = theirs["hld_lambada_openai"]["perplexity,none"];
  row("lambada", "perplexity", lp, lt);
  EXPECT_LT(rel(lp, lt), 1e-4) << label;
  const json& w = ours["wikitext"];
  const json& t = theirs["hld_wikitext"];
  for (const char* m : {"word_perplexity", "byte_perplexity", "bits_per_byte"}) {
    const double a = w[m], b = t[std::string(m) + ",none"];
    row("wikitext", m, a, b);
    if (wikitext_exact)
      EXPECT_LT(rel(a, b), 1e-4) << label << " " << m;
    else  // the harness also scores log P(BOS | BOS) once per document: a higher perplexity
      EXPECT_GT(b, a) << label << " " << m;
  }
}

TEST(LmEvalParity, TrainedStudentScoresAlikeInBothConventions) {
  HLD_REQUIRE_VENV_PYTHON();
  ASSERT_TRUE(fs::exists(test::repo_path(".venv/bin/lm_eval"))) << test::venv_python_missing();
  test::TempDir dir;
  const std::string run = student();
  const std::string tasks = harness_tasks(dir);

  // As trained: `text EOS` shards, so no BOS and EOS as the prefix, in both tools by default.
  ASSERT_FALSE(model::read_data_layout(model::resolve_model_dir(run)).bos);
  auto exp = test::run_hld("export-hf " + run + " --out " + dir / "hf");
  ASSERT_EQ(exp.exit_code, 0) << exp.output;
  compare(hld_eval(dir, run, "trained"), lm_eval(dir, dir / "hf", tasks, "trained"), "no-BOS", true);

  // The same weights recorded as trained on `BOS text EOS`: BOS before every context, BOS prefix.
  auto m = hf::load_model_any(run);
  model::save_model_dir(m, dir / "bos_model", {/*bos=*/true, "train"});
  auto exp_bos = test::run_hld("export-hf " + dir / "bos_model" + " --out " + dir / "hf_bos" + " --tokenizer " +
                               test::small_corpus() + "/tok.model");
  ASSERT_EQ(exp_bos.exit_code, 0) << exp_bos.output;
  compare(hld_eval(dir, dir / "bos_model", "bos"), lm_eval(dir, dir / "hf_bos", tasks, "bos"), "BOS", false);
}

}  // namespace
}  // namespace hld::eval

#endif  // HLD_TRAIN_BIN
