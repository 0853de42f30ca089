// Atomic, checksummed training checkpoints.
#include "hld/train/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "hld/io/safetensors.h"
#include "hld/model/model_io.h"
#include "hld/util/error.h"
#include "hld/util/fault.h"
#include "hld/util/fs.h"
#include "hld/util/hash.h"

namespace fs = std::filesystem;

namespace hld::train {
namespace {

io::TensorMap named(const torch::nn::Module& m) {
  io::TensorMap t;
  for (const auto& p : m.named_parameters()) t.emplace(p.key(), p.value().detach());
  return t;
}

}  // namespace

nlohmann::json TrainState::to_json() const {
  nlohmann::json j = {
      {"step", step},           {"phase", phase}, {"phase_step", phase_step},  {"flops", flops}, {"tokens", tokens},
      {"bad_steps", bad_steps}, {"data", data},   {"fingerprint", fingerprint}};
  if (!identity.is_null()) j["identity"] = identity;
  return j;
}

TrainState TrainState::from_json(const nlohmann::json& j, const std::string& what) {
  TrainState s;
  try {
    s.step = j.at("step").get<int64_t>();
    s.phase = j.at("phase").get<int>();
    s.phase_step = j.at("phase_step").get<int64_t>();
    s.flops = j.at("flops").get<double>();
    s.tokens = j.at("tokens").get<int64_t>();
    s.bad_steps = j.value("bad_steps", int64_t{0});
    s.data = j.at("data");
    s.fingerprint = j.at("fingerprint").get<std::string>();
    s.identity = j.value("identity", nlohmann::json());
  } catch (const std::exception& e) {
    throw InputError(what + ": malformed checkpoint state: " + e.what());
  }
  HLD_INPUT_CHECK(s.step >= 0 && s.phase >= 0 && s.phase_step >= 0 && s.phase_step <= s.step,
                  what + ": checkpoint state has negative or inconsistent step counters");
  return s;
}

std::string save_checkpoint(const std::string& run_dir, const TrainState& state, model::Transformer& m,
                            objectives::Regressor* reg, const AdamW& opt, int64_t keep) {
  const fs::path root = fs::path(run_dir) / "checkpoints";
  fs::create_directories(root);
  char name[32];
  std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(state.step));
  const fs::path final_dir = root / name;
  const fs::path tmp = root / (std::string(name) + ".tmp");
  // Half-written checkpoints of a crashed or failed save are never read; clear them.
  for (const auto& e : fs::directory_iterator(root))
    if (e.path().extension() == ".tmp") fs::remove_all(e.path());
  try {
    fs::create_directories(tmp);
    // The model's data layout comes from the stream's position, which carries the shards' `bos`.
    const bool bos = state.data.is_object() && state.data.value("bos", false);
    model::save_model_dir(m, tmp.string(), {bos, "train"});
    util::fault_point("checkpoint.model_written");
    io::save_safetensors((tmp / "optimizer.safetensors").string(), opt.state(),
                         {{"steps", std::to_string(opt.steps())}});
    if (reg) io::save_safetensors((tmp / "regressor.safetensors").string(), named(**reg));
    nlohmann::json j = state.to_json();
    j["optimizer_steps"] = opt.steps();
    for (const auto& e : fs::directory_iterator(tmp))
      j["checksums"][e.path().filename().string()] = util::file_checksum(e.path().string()).str();
    util::AtomicFile state((tmp / "state.json").string());
    state.write(j.dump(1));
    util::fault_point("checkpoint.before_state_rename");
    state.commit();
    util::fsync_dir(tmp.string());
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    const std::string prev = model::latest_checkpoint(run_dir);
    throw std::runtime_error(
        std::string("checkpoint of step ") + std::to_string(state.step) + " not written (" + e.what() + "); " +
        (prev.empty() ? "no earlier checkpoint exists" : "the previous checkpoint " + prev + " is intact"));
  }
  util::fault_point("checkpoint.before_dir_rename");
  if (fs::exists(final_dir)) fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  util::fsync_dir(root.string());
  // Prune: keep the newest `keep` complete checkpoints.
  const std::vector<std::string> all = model::checkpoint_dirs(run_dir);
  for (size_t i = 0; i + keep < all.size(); ++i) fs::remove_all(all[i]);
  return final_dir.string();
}

TrainState read_checkpoint_state(const std::string& dir) {
  const std::string sp = (fs::path(dir) / "state.json").string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(util::read_file(sp));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(sp + ": invalid JSON: " + e.what());
  }
  HLD_INPUT_CHECK(j.contains("checksums") && j["checksums"].is_object(), sp + ": no file checksums");
  for (auto it = j["checksums"].begin(); it != j["checksums"].end(); ++it) {
    const std::string f = (fs::path(dir) / it.key()).string();
    HLD_INPUT_CHECK(fs::exists(f), dir + ": checkpoint file '" + it.key() + "' is missing");
    // Each digest names its algorithm: checkpoints of older versions (bare FNV-1a hex) still verify.
    HLD_INPUT_CHECK(it.value().is_string() && util::file_matches(f, it.value().get<std::string>()),
                    dir + ": checkpoint file '" + it.key() + "' is corrupt (checksum mismatch)");
  }
  return TrainState::from_json(j, sp);
}

namespace {

// Checkpoints written before the regressor held one sub-module per hidden pair name the single
// pair's parameters without its "pair0." prefix ("proj.weight", and "exp_avg/regressor.proj.weight"
// in the optimizer state): where they were, mapped here once.
std::string legacy_regressor_name(const std::string& name) {
  const std::string prefix = "pair0.";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : "";
}

void map_legacy_optimizer_keys(std::map<std::string, torch::Tensor>& tensors) {
  const std::string reg = "regressor.";
  std::map<std::string, torch::Tensor> mapped;
  for (auto& [key, t] : tensors) {
    const auto at = key.find('/');
    const bool legacy = at != std::string::npos && key.compare(at + 1, reg.size(), reg) == 0 &&
                        key.compare(at + 1 + reg.size(), 4, "pair") != 0;
    mapped.emplace(legacy ? key.substr(0, at + 1) + reg + "pair0." + key.substr(at + 1 + reg.size()) : key, t);
  }
  tensors = std::move(mapped);
}

}  // namespace

void load_checkpoint(const std::string& dir, model::Transformer& m, objectives::Regressor* reg, AdamW* opt) {
  const fs::path d(dir);
  model::load_named_parameters(*m, (d / "model.safetensors").string());
  if (reg) {
    const std::string rp = (d / "regressor.safetensors").string();
    HLD_INPUT_CHECK(fs::exists(rp), dir + ": checkpoint has no regressor.safetensors");
    model::load_named_parameters(**reg, rp, legacy_regressor_name);
  }
  if (opt) {
    const std::string op = (d / "optimizer.safetensors").string();
    auto f = io::load_safetensors(op);
    auto it = f.metadata.find("steps");
    HLD_INPUT_CHECK(it != f.metadata.end(), op + ": no 'steps' metadata");
    map_legacy_optimizer_keys(f.tensors);
    opt->load_state(f.tensors, std::stoll(it->second), op);
  }
}

}  // namespace hld::train
