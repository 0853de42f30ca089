// `hld-train import-hf`, `export-hf`, `verify-hf`: Hugging Face Gemma 3 interoperability.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "hld/cli/common.h"
#include "hld/hf/gemma3_hf.h"
#include "hld/model/model_io.h"
#include "hld/util/error.h"

namespace hld::cli {
namespace {

struct HfArgs {
  std::string src, out, dtype = "float32";
  double tolerance = 1e-4;
};

int run_verify(const HfArgs& a) {
  auto dtype = a.dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  auto res = hf::verify_hf_dir(a.src, dtype);
  std::printf("%-20s %14s\n", "tensor", "max rel error");
  int bad = 0, compared = 0;
  for (const auto& t : res.tensors) {
    if (!t.compared) {
      std::printf("%-20s %14s\n", t.name.c_str(), "(not compared)");
      continue;
    }
    ++compared;
    const bool ok = t.max_rel_error <= a.tolerance;
    bad += !ok;
    std::printf("%-20s %14.3e%s\n", t.name.c_str(), t.max_rel_error, ok ? "" : "  FAIL");
  }
  std::printf("worst %.3e over %d tensors (tolerance %.1e): %s\n", res.worst, compared, a.tolerance,
              bad || compared == 0 ? "FAIL" : "ok");
  return bad || compared == 0 ? kExitFailure : kExitOk;
}

}  // namespace

void register_hf(CLI::App& app, Action& action) {
  auto args = std::make_shared<HfArgs>();
  auto* imp = app.add_subcommand("import-hf", "Hugging Face Gemma 3 directory -> hld-train model directory");
  imp->add_option("DIR", args->src, "directory with config.json and model.safetensors")->required();
  imp->add_option("--out,-o", args->out, "output model directory")->required();
  imp->callback([&action, args] {
    action = [args] {
      auto m = hf::load_hf_dir(args->src);
      // Gemma checkpoints are pre-trained on `BOS text EOS`: eval.add_bos: auto scores them with BOS.
      model::save_model_dir(m, args->out, {/*bos=*/true, "import-hf"});
      spdlog::info("imported {} -> {}", args->src, args->out);
      return kExitOk;
    };
  });
  auto* exp = app.add_subcommand("export-hf", "hld-train model/checkpoint/run -> Hugging Face Gemma 3 directory");
  exp->add_option("MODEL", args->src, "model directory, checkpoint or run folder")->required();
  exp->add_option("--out,-o", args->out, "output Hugging Face directory")->required();
  exp->callback([&action, args] {
    action = [args] {
      auto m = model::load_model_any(args->src);
      hf::export_hf_dir(m, args->out);
      spdlog::info("exported {} -> {}", args->src, args->out);
      return kExitOk;
    };
  });
  auto* ver = app.add_subcommand("verify-hf", "check parity against DIR/reference.safetensors");
  ver->add_option("DIR", args->src, "directory with config.json, model.safetensors, reference.safetensors")->required();
  ver->add_option("--tolerance", args->tolerance, "maximum relative error (default 1e-4)");
  ver->add_option("--dtype", args->dtype, "float32 | bfloat16")->check(CLI::IsMember({"float32", "bfloat16"}));
  ver->callback([&action, args] { action = [args] { return run_verify(*args); }; });
}

}  // namespace hld::cli
