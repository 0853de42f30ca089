// Run-folder helpers: the config identity and fingerprint a resume must match, metrics log, peak
// FLOP/s measurement.
#include "hld/train/run_dir.h"

#include <torch/torch.h>
#include <torch/version.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "hld/config/loader.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::train {

namespace {

/// Identity keys added after the v2 fingerprint, with the value (config::flatten's text) they
/// had before they existed: left out while at that value, so that a run folder written before a key
/// existed (its fingerprint hashed no such key) resumes, and one that sets the key to something else
/// does not resume under a config without it. The values are frozen on purpose: should a default
/// move later, an old run resumed under it is refused naming the key instead of silently changing.
const std::pair<const char*, const char*> kAddedAfterV2[] = {{"objective.divergence", "forward_kl"},
                                                             {"objective.jsd_beta", "0.5"},
                                                             {"objective.skew", "0.9"},
                                                             {"objective.tail", "renormalise"},
                                                             {"objective.hidden_pairs", "[]"},
                                                             {"objective.hidden_map", ""},
                                                             {"teacher.logits", "topk"},
                                                             {"teacher.sample_seed", "0"},
                                                             {"model.init_std", "0.02"}};

}  // namespace

std::map<std::string, std::string> config_identity(const config::ExperimentConfig& cfg, int world) {
  std::map<std::string, std::string> id = config::flatten(cfg);
  for (auto it = id.begin(); it != id.end();) {
    const std::string& k = it->first;
    const bool may_change = (k.rfind("run.", 0) == 0 && k != "run.seed") || k.rfind("eval.", 0) == 0 ||
                            k == "data.grad_accum" || k == "data.prefetch";
    it = may_change ? id.erase(it) : std::next(it);
  }
  for (const auto& [key, before] : kAddedAfterV2) {
    const auto it = id.find(key);
    if (it != id.end() && it->second == before) id.erase(it);
  }
  id["data.batch_size"] = std::to_string(cfg.data.batch_size * world);  // the global batch
  return id;
}

std::string config_fingerprint(const config::ExperimentConfig& cfg, int world) {
  std::string text;
  for (const auto& [k, v] : config_identity(cfg, world)) text += k + "=" + v + "\n";
  return "v2:" + util::hex64(util::fnv1a64(text));
}

std::string legacy_config_fingerprint(const config::ExperimentConfig& cfg, int world) {
  YAML::Node root = YAML::Load(cfg.merged_yaml);
  root.remove("run");
  if (world != 1) root["data"]["batch_size"] = cfg.data.batch_size * world;
  if (root["data"]) {
    root["data"].remove("grad_accum");
    root["data"].remove("prefetch");
  }
  YAML::Emitter e;
  e << root;
  return util::hex64(util::fnv1a64(std::string(e.c_str()) + "\nseed=" + std::to_string(cfg.run.seed)));
}

std::string describe_changes(const std::map<std::string, std::string>& stored,
                             const std::map<std::string, std::string>& now) {
  std::string out;
  auto value = [](const std::map<std::string, std::string>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? std::string("(absent)") : it->second.empty() ? std::string("\"\"") : it->second;
  };
  std::set<std::string> keys;
  for (const auto& kv : stored) keys.insert(kv.first);
  for (const auto& kv : now) keys.insert(kv.first);
  for (const auto& k : keys) {
    const std::string a = value(stored, k), b = value(now, k);
    if (a != b) out += (out.empty() ? "" : "; ") + k + ": " + a + " -> " + b;
  }
  return out;
}

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step) {
  if (fs::is_regular_file(path)) {
    std::ifstream in(path);
    std::string kept, line;
    while (std::getline(in, line)) {
      try {
        auto j = nlohmann::json::parse(line);
        if (j.value("step", int64_t{0}) <= resume_step) kept += line + "\n";
      } catch (const std::exception&) {
        // a torn last line from a crash: drop it
      }
    }
    util::write_file_atomic(path, kept);
  }
  f_ = std::fopen(path.c_str(), "a");
  if (!f_) throw std::runtime_error("cannot open metrics file '" + path + "': " + std::strerror(errno));
  path_ = path;
}

MetricsLog::~MetricsLog() {
  if (f_) std::fclose(f_);
}

void MetricsLog::write(const nlohmann::json& record) {
  const std::string s = record.dump() + "\n";
  // A record that cannot be written stops the run (the last checkpoint is intact): a metrics file
  // with holes would make the report's curves silently wrong.
  if (std::fwrite(s.data(), 1, s.size(), f_) != s.size() || std::fflush(f_) != 0)
    throw std::runtime_error("cannot write metrics file '" + path_ + "': " + std::strerror(errno));
}

double measured_peak_flops(const std::string& device, const std::string& dtype) {
  const int threads = torch::get_num_threads();
  // Keyed by what sets the figure: the device, the dtype, the threads and the LibTorch (its BLAS).
  const std::string key = device + "/" + dtype + "/threads=" + std::to_string(threads) + "/torch=" TORCH_VERSION;
  const char* home = std::getenv("HOME");
  const fs::path cache = fs::path(home ? home : "/tmp") / ".cache" / "hld-train" / "peak_flops.json";
  nlohmann::json j = nlohmann::json::object();
  if (fs::exists(cache)) {
    try {
      j = nlohmann::json::parse(util::read_file(cache.string()));
      if (j.contains(key) && j[key].is_number()) return j[key].get<double>();
    } catch (const std::exception&) {
      j = nlohmann::json::object();
    }
  }
  torch::NoGradGuard ng;
  const auto dev = torch::Device(device);
  const auto dt = dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  const int64_t n = dev.is_cuda() ? 8192 : 2048;
  auto a = torch::randn({n, n}, torch::TensorOptions().dtype(dt).device(dev));
  auto b = torch::randn({n, n}, torch::TensorOptions().dtype(dt).device(dev));
  auto c = torch::matmul(a, b);  // warm-up
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    if (dev.is_cuda()) c.cpu();
    const auto t0 = std::chrono::steady_clock::now();
    const int iters = dev.is_cuda() ? 20 : 3;
    for (int i = 0; i < iters; ++i) c = torch::matmul(a, b);
    (void)c.sum().item<double>();  // synchronise
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * n * n * n * iters / s);
  }
  j[key] = best;
  try {
    fs::create_directories(cache.parent_path());
    util::write_file_atomic(cache.string(), j.dump(1));
  } catch (const std::exception&) {
    // a read-only home is fine: measure again next time
  }
  return best;
}

}  // namespace hld::train
