// `hld-train import-hf`, `export-hf`, `verify-hf`: Hugging Face Gemma 3 interoperability.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "hld/cli/common.h"
#include "hld/config/loader.h"
#include "hld/data/tokenizer.h"
#include "hld/hf/any_model.h"
#include "hld/hf/gemma3_hf.h"
#include "hld/model/model_io.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::cli {
namespace {

struct HfArgs {
  std::string src, out, dtype = "float32", tokenizer, max_shard_size = "5GB";
  double tolerance = 1e-4;
};

// The SentencePiece model that travels with an export: --tokenizer, else a tokenizer.model beside
// the model (import-hf puts one there), else data.tokenizer of the run's config.yaml (PATH being
// the run folder, or a checkpoint inside its checkpoints/). "" when there is none.
std::string export_tokenizer(const HfArgs& a) {
  if (!a.tokenizer.empty()) {
    HLD_INPUT_CHECK(fs::is_regular_file(a.tokenizer), "--tokenizer '" + a.tokenizer + "' does not exist");
    return a.tokenizer;
  }
  const fs::path dir = model::resolve_model_dir(a.src);
  if (fs::exists(dir / "tokenizer.model")) return (dir / "tokenizer.model").string();
  for (const fs::path& cfg : {fs::path(a.src) / "config.yaml", dir.parent_path().parent_path() / "config.yaml"}) {
    if (!fs::exists(cfg)) continue;
    std::string tok;
    try {
      tok = config::load(cfg.string()).data.tokenizer;
    } catch (const InputError& e) {
      spdlog::warn("export-hf: cannot read data.tokenizer from {}: {}", cfg.string(), e.what());
      continue;
    }
    if (tok.empty()) continue;
    if (fs::path(tok).is_relative() && !fs::exists(tok)) tok = (cfg.parent_path() / tok).string();
    HLD_INPUT_CHECK(fs::is_regular_file(tok),
                    cfg.string() + ": data.tokenizer '" + tok + "' does not exist (pass --tokenizer FILE)");
    return tok;
  }
  return "";
}

int run_import(const HfArgs& a) {
  // Check the tokenizer before writing anything: bad input writes nothing.
  const fs::path tok = fs::path(a.src) / "tokenizer.model";
  const bool has_tok = fs::exists(tok);
  if (has_tok) data::Tokenizer check(tok.string());
  hf::ImportStats st;
  auto m = hf::load_hf_dir(a.src, &st);
  // Gemma checkpoints are pre-trained on `BOS text EOS`: eval.add_bos: auto scores them with BOS.
  model::save_model_dir(m, a.out, {/*bos=*/true, "import-hf"});
  std::string dtypes;
  for (const auto& d : st.dtypes) dtypes += (dtypes.empty() ? "" : ", ") + d;
  spdlog::info("imported {} -> {}: {} tensors ({}) from {} file{}{}; {} vision tower / projector tensors ignored ({})",
               a.src, a.out, st.loaded, dtypes, st.files, st.files == 1 ? "" : "s",
               st.sharded ? " (model.safetensors.index.json)" : "", st.ignored,
               util::human_bytes(static_cast<double>(st.ignored_bytes)));
  if (has_tok) {
    const std::string dst = (fs::path(a.out) / "tokenizer.model").string();
    util::write_file_atomic(dst, util::read_file(tok.string()));
    spdlog::info("tokenizer: {} (use it as data.tokenizer)", dst);
  } else {
    spdlog::warn("{} has no tokenizer.model: set data.tokenizer to the checkpoint's SentencePiece model", a.src);
  }
  return kExitOk;
}

int run_export(const HfArgs& a) {
  hf::ExportOptions o;
  o.dtype = a.dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  o.max_shard_bytes = hf::parse_shard_size(a.max_shard_size);
  o.tokenizer = export_tokenizer(a);
  // The tokenizer's BOS convention is the one the model was trained on (or import-hf's: BOS).
  const model::DataLayout layout = model::read_data_layout(model::resolve_model_dir(a.src));
  o.add_bos = layout.bos;
  auto m = hf::load_model_any(a.src);
  const auto files = hf::export_hf_dir(m, a.out, o);
  std::string list;
  for (const auto& f : files) list += (list.empty() ? "" : " ") + f;
  spdlog::info("exported {} -> {} ({}): {}; tokenizer add_bos_token {} ({}: {})", a.src, a.out, a.dtype, list,
               o.add_bos, layout.source, layout.bos ? "BOS text EOS" : "text EOS");
  if (o.tokenizer.empty())
    spdlog::warn(
        "no tokenizer found for {} (no tokenizer.model, no run config data.tokenizer): pass --tokenizer FILE, "
        "or AutoTokenizer cannot load {}",
        a.src, a.out);
  return kExitOk;
}

int run_verify(const HfArgs& a) {
  auto dtype = a.dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  auto res = hf::verify_hf_dir(a.src, dtype);
  int width = 20;  // gradient names (grad.model.layers.0.self_attn.q_proj.weight) are longer
  for (const auto& t : res.tensors) width = std::max(width, static_cast<int>(t.name.size()));
  std::printf("%-*s %14s\n", width, "tensor", "max rel error");
  int bad = 0, compared = 0;
  for (const auto& t : res.tensors) {
    if (!t.compared) {
      std::printf("%-*s %14s\n", width, t.name.c_str(), "(not compared)");
      continue;
    }
    ++compared;
    const bool ok = t.max_rel_error <= a.tolerance;
    bad += !ok;
    std::printf("%-*s %14.3e%s\n", width, t.name.c_str(), t.max_rel_error, ok ? "" : "  FAIL");
  }
  if (res.top1_agreement >= 0)
    std::printf("top-1 agreement of the logits: %.6f (%lld positions)\n", res.top1_agreement,
                static_cast<long long>(res.top1_positions));
  std::printf("worst %.3e over %d tensors (tolerance %.1e): %s\n", res.worst, compared, a.tolerance,
              bad || compared == 0 ? "FAIL" : "ok");
  return bad || compared == 0 ? kExitFailure : kExitOk;
}

}  // namespace

void register_hf(CLI::App& app, Action& action) {
  auto args = std::make_shared<HfArgs>();
  auto* imp = app.add_subcommand("import-hf", "Hugging Face Gemma 3 directory -> hld-train model directory");
  imp->add_option("DIR", args->src,
                  "directory with config.json and model.safetensors or model.safetensors.index.json + shards")
      ->required();
  imp->add_option("--out,-o", args->out, "output model directory")->required();
  imp->callback([&action, args] { action = [args] { return run_import(*args); }; });
  auto* exp = app.add_subcommand("export-hf", "hld-train model/checkpoint/run -> Hugging Face Gemma 3 directory");
  exp->add_option("MODEL", args->src, "model directory, checkpoint or run folder")->required();
  exp->add_option("--out,-o", args->out, "output Hugging Face directory")->required();
  exp->add_option("--dtype", args->dtype, "weights dtype: float32 | bfloat16 (default float32)")
      ->check(CLI::IsMember({"float32", "bfloat16"}));
  exp->add_option("--max-shard-size", args->max_shard_size,
                  "largest safetensors file before sharding, e.g. 500MB, 2GB (default 5GB)");
  exp->add_option("--tokenizer", args->tokenizer,
                  "SentencePiece model to ship (default: beside the model, or the run's data.tokenizer)");
  exp->callback([&action, args] { action = [args] { return run_export(*args); }; });
  auto* ver = app.add_subcommand("verify-hf", "check parity against DIR/reference.safetensors");
  ver->add_option("DIR", args->src, "directory with config.json, model.safetensors, reference.safetensors")->required();
  ver->add_option("--tolerance", args->tolerance, "maximum relative error (default 1e-4)");
  ver->add_option("--dtype", args->dtype, "float32 | bfloat16")->check(CLI::IsMember({"float32", "bfloat16"}));
  ver->callback([&action, args] { action = [args] { return run_verify(*args); }; });
}

}  // namespace hld::cli
