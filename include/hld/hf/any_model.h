// Any model directory a user can name: an hld-train model or checkpoint directory, a run folder
// (its latest checkpoint), or a Hugging Face Gemma 3 directory. Lives here, above both formats, so
// that `model` knows nothing of Hugging Face.
#pragma once

#include <string>

#include "hld/model/transformer.h"

namespace hld::hf {

/// Loads the model at `path` (model::resolve_model_dir: itself or a run folder's latest
/// checkpoint): hld-train's model.yaml + model.safetensors, or a Hugging Face directory.
model::Transformer load_model_any(const std::string& path);

}  // namespace hld::hf
