// Loading any model directory (see any_model.h).
#include "hld/hf/any_model.h"

#include <filesystem>

#include "hld/config/loader.h"
#include "hld/hf/gemma3_hf.h"
#include "hld/model/model_io.h"

namespace hld::hf {

model::Transformer load_model_any(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string dir = model::resolve_model_dir(path);
  if (!fs::exists(fs::path(dir) / "model.yaml")) return load_hf_dir(dir);
  model::Transformer m(config::load_model((fs::path(dir) / "model.yaml").string()));
  model::load_named_parameters(*m, (fs::path(dir) / "model.safetensors").string());
  return m;
}

}  // namespace hld::hf
