// Saving and loading hld-train model directories, and the BOS layout recorded beside a model.
#include "hld/model/model_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "hld/config/loader.h"
#include "hld/io/safetensors.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::model {

namespace {

constexpr const char* kLayoutFile = "data_layout.json";

nlohmann::json read_json_object(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  HLD_INPUT_CHECK(!ec && size < (1u << 20), p.string() + ": unreadable or too large");
  auto j = nlohmann::json::parse(util::read_file(p.string()), nullptr, false);
  HLD_INPUT_CHECK(!j.is_discarded() && j.is_object(), p.string() + ": not a JSON object");
  return j;
}

bool names_gemma(const nlohmann::json& cfg) {
  auto gemma = [](const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("model_type") || !j["model_type"].is_string()) return false;
    std::string t = j["model_type"].get<std::string>();
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    return t.find("gemma") != std::string::npos;
  };
  return gemma(cfg) || (cfg.contains("text_config") && gemma(cfg["text_config"]));
}

}  // namespace

void save_model_dir(Transformer& m, const std::string& dir, const DataLayout& layout) {
  fs::create_directories(dir);
  io::TensorMap t;
  for (const auto& p : m->named_parameters()) t.emplace(p.key(), p.value().detach());
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), t, {{"format", "hld-train"}});
  util::write_file_atomic((fs::path(dir) / "model.yaml").string(), config::model_to_yaml(m->config()));
  const nlohmann::json j = {{"format", "hld-data-layout"},
                            {"version", 1},
                            {"bos", layout.bos},
                            {"documents", layout.bos ? "BOS text EOS" : "text EOS"},
                            {"source", layout.source}};
  util::write_file_atomic((fs::path(dir) / kLayoutFile).string(), j.dump(2) + "\n");
}

DataLayout read_data_layout(const std::string& dir) {
  const fs::path lp = fs::path(dir) / kLayoutFile;
  if (fs::exists(lp)) {
    const auto j = read_json_object(lp);
    HLD_INPUT_CHECK(j.value("format", "") == "hld-data-layout" && j.contains("bos") && j["bos"].is_boolean(),
                    lp.string() + ": expected {\"format\": \"hld-data-layout\", \"bos\": true|false, ...}");
    DataLayout d;
    d.bos = j["bos"].get<bool>();
    d.source = j.contains("source") && j["source"].is_string() ? j["source"].get<std::string>() : "data_layout.json";
    return d;
  }
  const fs::path cp = fs::path(dir) / "config.json";
  if (!fs::exists(fs::path(dir) / "model.yaml") && fs::exists(cp))
    return {names_gemma(read_json_object(cp)), "hf-config"};
  return {false, "none"};
}

std::vector<std::string> checkpoint_dirs(const std::string& run_dir, bool complete_only) {
  const fs::path ck = fs::path(run_dir) / "checkpoints";
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(ck, ec)) return out;
  for (const auto& e : fs::directory_iterator(ck, ec)) {
    const std::string n = e.path().filename().string();
    if (!e.is_directory() || n.rfind("step-", 0) != 0 || n.find(".tmp") != std::string::npos) continue;
    if (complete_only && !fs::exists(e.path() / "state.json")) continue;
    out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());  // step-%08d: name order is step order
  return out;
}

std::string latest_checkpoint(const std::string& run_dir) {
  const auto all = checkpoint_dirs(run_dir, /*complete_only=*/true);
  return all.empty() ? "" : all.back();
}

std::string resolve_model_dir(const std::string& path) {
  HLD_INPUT_CHECK(fs::exists(path), "model path '" + path + "' does not exist");
  if (fs::exists(fs::path(path) / "model.yaml") || fs::exists(fs::path(path) / "config.json")) return path;
  const std::string ck = latest_checkpoint(path);
  HLD_INPUT_CHECK(!ck.empty(),
                  "'" + path + "' holds no model (expected model.yaml, config.json or checkpoints/step-*)");
  return ck;
}

void load_named_parameters(torch::nn::Module& m, const std::string& path,
                           const std::function<std::string(const std::string&)>& legacy_name) {
  torch::NoGradGuard ng;
  const io::MappedSafetensors file(path);
  for (auto& p : m.named_parameters()) {
    std::string name = p.key();
    if (!file.contains(name) && legacy_name && !legacy_name(name).empty()) name = legacy_name(name);
    HLD_INPUT_CHECK(file.contains(name), path + ": missing tensor '" + p.key() + "'");
    const torch::Tensor t = file.view(name);
    HLD_INPUT_CHECK(t.sizes() == p.value().sizes(), path + ": tensor '" + name + "' has shape " + c10::str(t.sizes()) +
                                                        ", expected " + c10::str(p.value().sizes()));
    p.value().copy_(t);
    file.release(name);
  }
}

}  // namespace hld::model
