// `hld-train eval CONFIG [--set k=v] [--checkpoint PATH] [--out FILE]`: perplexity and zero-shot
// multiple-choice evaluation of a checkpoint → one eval JSON (model, config, training tokens and
// FLOPs from the checkpoint's state.json, every metric with its example count, elapsed time, git
// revision), written atomically. Task files are checked before the model is loaded.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

#include "hld/util/version.h"
#include "hld/hf/any_model.h"
#include "hld/cli/common.h"
#include "hld/data/tokenizer.h"
#include "hld/eval/scoring.h"
#include "hld/model/model_io.h"
#include "hld/runtime/runtime.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::cli {
namespace {

namespace fs = std::filesystem;

struct EvalArgs {
  ConfigArgs cfg;
  std::string checkpoint;
  std::string out;
};

// tokens / flops from DIR/state.json when the model directory is a training checkpoint.
nlohmann::json trained_with(const std::string& dir) {
  nlohmann::json r = {{"tokens", nullptr}, {"flops", nullptr}, {"step", nullptr}};
  const fs::path p = fs::path(dir) / "state.json";
  if (!fs::exists(p)) return r;
  nlohmann::json s;
  try {
    s = nlohmann::json::parse(util::read_file(p.string()));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(p.string() + ": invalid JSON: " + e.what());
  }
  for (const char* k : {"tokens", "flops", "step"})
    if (s.is_object() && s.contains(k) && s[k].is_number()) r[k] = s[k];
  return r;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

int run(const EvalArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  const config::ExperimentConfig cfg = a.cfg.load();
  // 1. Everything the user named must be there before any work.
  const std::string ckpt_arg = !a.checkpoint.empty()          ? a.checkpoint
                               : !cfg.eval.checkpoint.empty() ? cfg.eval.checkpoint
                                                              : cfg.run.dir;
  const std::string model_dir = model::resolve_model_dir(ckpt_arg);
  HLD_INPUT_CHECK(!cfg.data.tokenizer.empty(),
                  "data.tokenizer: the eval needs the SentencePiece model the "
                  "checkpoint was trained with (expected a .model path)");
  const std::string out = !a.out.empty()             ? a.out
                          : !cfg.eval.output.empty() ? cfg.eval.output
                                                     : (fs::path(cfg.run.dir) / "eval.json").string();
  const int64_t context = eval::eval_context(cfg);
  const eval::TaskSuite suite = eval::load_tasks(cfg.eval);
  const nlohmann::json trained = trained_with(model_dir);
  const model::DataLayout layout = model::read_data_layout(model_dir);  // what eval.add_bos: auto follows
  data::Tokenizer tok(cfg.data.tokenizer);
  const torch::Device device = runtime::resolve_device(cfg.run.device);
  if (cfg.run.threads > 0) torch::set_num_threads(static_cast<int>(cfg.run.threads));

  // 2. Model and scoring.
  spdlog::info("eval: loading {}", model_dir);
  model::Transformer model = hf::load_model_any(model_dir);
  model->to(device);
  nlohmann::json res = eval::run_eval(model, tok, suite, cfg.eval, device, context, layout);

  // 3. The eval JSON.
  nlohmann::json j;
  j["model"] = {{"name", model->config().name},
                {"checkpoint", fs::absolute(model_dir).lexically_normal().string()},
                {"params", config::count_params(model->config()).total}};
  j["config"] = fs::absolute(cfg.source_path).lexically_normal().string();
  j["tokenizer"] = {{"path", tok.path()}, {"hash", tok.hash()}};
  j["trained"] = trained;
  j["tokens"] = trained["tokens"];
  j["flops"] = trained["flops"];
  j["metrics"] = res["tasks"];
  j["summary"] = eval::table2_summary(res["tasks"]);
  res.erase("tasks");
  j["eval"] = res;
  j["elapsed_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  j["git_revision"] = util::git_revision();
  j["version"] = util::version();
  j["created"] = utc_now();
  const fs::path parent = fs::path(out).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  util::write_file_atomic(out, j.dump(2) + "\n");
  std::printf("%s\n", j["summary"].dump(2).c_str());
  spdlog::info("eval: wrote {} ({:.1f}s)", out, j["elapsed_s"].get<double>());
  return kExitOk;
}

}  // namespace

void register_eval(CLI::App& app, Action& action) {
  auto args = std::make_shared<EvalArgs>();
  auto* sub = app.add_subcommand("eval", "perplexity and multiple-choice evaluation -> eval JSON");
  add_config_args(sub, args->cfg);
  sub->add_option("--checkpoint", args->checkpoint,
                  "model to evaluate: checkpoint, run folder (its latest checkpoint) or model/HF directory "
                  "(default: eval.checkpoint, else run.dir)");
  sub->add_option("--out", args->out, "eval JSON path (default: eval.output, else RUN/eval.json)");
  sub->callback([&action, args] { action = [args] { return run(*args); }; });
}

}  // namespace hld::cli
