// hld-train model directories: model.yaml (the shape) + model.safetensors (our parameter names) +
// data_layout.json (whether the model was trained on `BOS text EOS` documents; what
// `eval.add_bos: auto` reads). Training checkpoints are such directories plus optimizer and loop
// state; a run folder holds them under checkpoints/. hf::load_model_any() (hf/any_model.h) loads
// all of these and Hugging Face directories.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "hld/model/transformer.h"

namespace hld::model {

/// How the documents a model learned from were laid out.
struct DataLayout {
  bool bos = false;             ///< `BOS text EOS` (true) or `text EOS`
  std::string source = "none";  ///< who says so: "train" (the shards' headers), "import-hf", "hf-config",
                                ///< "none" (nobody: no BOS)
};

/// Writes DIR/model.yaml, DIR/model.safetensors and DIR/data_layout.json (atomically, each).
void save_model_dir(Transformer& m, const std::string& dir, const DataLayout& layout = {});

/// The layout of the model in DIR (a directory resolve_model_dir returns): DIR/data_layout.json
/// when there is one; else, for a Hugging Face directory (config.json, no model.yaml), BOS when its
/// model_type (or text_config.model_type) names a Gemma model, as lm-evaluation-harness assumes for
/// the family ("hf-config"); else no BOS ("none": hld-train directories written before the layout
/// was recorded were trained on `text EOS`). InputError naming the file when it is malformed.
DataLayout read_data_layout(const std::string& dir);

/// A run folder's checkpoint directories (checkpoints/step-*, never a half-written *.tmp), oldest
/// first; `complete_only`: those whose state.json was written. The one place that lists them.
std::vector<std::string> checkpoint_dirs(const std::string& run_dir, bool complete_only = false);

/// Copies the tensors of the safetensors file `path` into `m`'s parameters by name, one tensor at
/// a time from the file's mapping (the extra memory is one tensor, not the file: a 13 GB teacher
/// loads in its own size). InputError naming the file and the tensor when one is missing or has
/// another shape. `legacy_name`, when given, names where older files kept a parameter that the
/// file lacks under its own name ("" for none).
void load_named_parameters(torch::nn::Module& m, const std::string& path,
                           const std::function<std::string(const std::string&)>& legacy_name = {});

/// The newest complete checkpoint directory inside a run folder ("" when none).
std::string latest_checkpoint(const std::string& run_dir);

/// Resolves PATH to a directory holding a model: itself (model.yaml or config.json), or a run
/// folder's latest checkpoint. Throws InputError when nothing loadable is there.
std::string resolve_model_dir(const std::string& path);

}  // namespace hld::model
