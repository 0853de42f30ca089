// hld-train model directories: model.yaml (the shape) + model.safetensors (our parameter names).
// Training checkpoints are such directories plus optimizer and loop state; a run folder holds
// them under checkpoints/. load_model_any() accepts all of these and Hugging Face directories.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hld/model/transformer.h"

namespace hld::model {

/// Writes DIR/model.yaml and DIR/model.safetensors (atomically, each).
void save_model_dir(Transformer& m, const std::string& dir);

/// A run folder's checkpoint directories (checkpoints/step-*, never a half-written *.tmp), oldest
/// first; `complete_only`: those whose state.json was written. The one place that lists them.
std::vector<std::string> checkpoint_dirs(const std::string& run_dir, bool complete_only = false);

/// Copies `tensors` into `m`'s parameters by name; InputError naming `what` and the tensor when
/// one is missing, has another shape, or is not part of the module.
void load_named_parameters(torch::nn::Module& m, const std::map<std::string, torch::Tensor>& tensors,
                           const std::string& what);

/// The newest complete checkpoint directory inside a run folder ("" when none).
std::string latest_checkpoint(const std::string& run_dir);

/// Resolves PATH to a directory holding a model: itself (model.yaml or config.json), or a run
/// folder's latest checkpoint. Throws InputError when nothing loadable is there.
std::string resolve_model_dir(const std::string& path);

/// Loads a model from an hld-train model/checkpoint/run directory or a Hugging Face directory.
Transformer load_model_any(const std::string& path);

}  // namespace hld::model
