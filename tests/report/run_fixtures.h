// Test helpers: fake run folders in the layout the trainer writes (resolved config.yaml +
// eval.json, metrics.jsonl), so that report tests go through the real readers.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "hld/util/fs.h"

namespace hld::report::testing {

struct FakeRun {
  std::string model = "student_tiny";
  std::string method = "kd";
  double lr = 4e-4, alpha = 0.9, temperature = 1.0, gamma = 0.1, p1 = 0.01;
  uint64_t seed = 0;
  std::map<std::string, double> metrics;  ///< metric id → value (error metrics written as acc too)
  double flops = 1e12;
  bool write_eval = true;
};

inline std::string make_temp_dir(const std::string& tag) {
  std::string tmpl = (std::filesystem::temp_directory_path() / ("hld_" + tag + "_XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

/// Writes DIR/config.yaml and (unless disabled) DIR/eval.json for `r`.
inline void write_run(const std::string& dir, const FakeRun& r) {
  std::filesystem::create_directories(dir);
  std::string y = "model:\n  name: " + r.model + "\n  hidden_size: 64\nobjective:\n  name: " + r.method + "\n";
  if (r.method != "nll") {
    y += "  alpha: " + std::to_string(r.alpha) + "\n  temperature: " + std::to_string(r.temperature) + "\n";
  }
  if (r.method == "hldc") y += "  gamma: " + std::to_string(r.gamma) + "\n";
  if (r.method == "hldf") y += "  p1: " + std::to_string(r.p1) + "\n";
  y += "optimizer:\n  lr: " + std::to_string(r.lr) + "\nrun:\n  seed: " + std::to_string(r.seed) + "\n";
  util::write_file_atomic(dir + "/config.yaml", y);
  if (!r.write_eval) return;
  nlohmann::json m = nlohmann::json::object();
  for (const auto& [id, v] : r.metrics) {
    if (id == "c4" || id == "wikitext" || id == "valid") {
      m[id == "valid" ? "valid_shards" : id] = {{"log_perplexity", v}, {"token_perplexity", std::exp(v)}};
    } else {
      m[id] = {{"acc", 1.0 - v}, {"error", v}, {"n", 100}};
    }
  }
  nlohmann::json e = {{"model", r.model}, {"metrics", m}, {"flops", r.flops}, {"tokens", 1000}};
  util::write_file_atomic(dir + "/eval.json", e.dump(2));
}

/// A run folder with a metrics.jsonl: at steps 2, 4, ... a train record (train/loss, train/nll,
/// its phase: "hint" up to `phase1_steps`, then "kd"; "train" without a first phase) and a held-out
/// record per value of `valid`; FLOPs grow by `flops_per_step`. A first line is torn (as a crash
/// leaves it). `cache`: the run reads that teacher cache (config teacher.*).
inline void write_curve_run(const std::string& dir, const FakeRun& fr, const std::vector<double>& valid,
                            double flops_per_step, int phase1_steps = 0, const std::string& cache = "") {
  write_run(dir, fr);
  if (!cache.empty()) {
    std::string y = util::read_file(dir + "/config.yaml");
    y += "teacher:\n  checkpoint: " + (std::filesystem::path(dir).parent_path() / "teacher").string() +
         "\n  source: cache\n  cache: " + cache + "\n";
    util::write_file_atomic(dir + "/config.yaml", y);
  }
  std::string lines = "{\"step\": 1, \"phase\": \"train\", \"flops/spent\": 1e9, \"train/loss\"";  // torn line
  lines += "\n";
  for (size_t i = 0; i < valid.size(); ++i) {
    const int64_t step = static_cast<int64_t>(2 * (i + 1));
    const double f = step * flops_per_step;
    const std::string phase = step <= phase1_steps ? "hint" : (phase1_steps ? "kd" : "train");
    lines += "{\"step\": " + std::to_string(step) + ", \"phase\": \"" + phase +
             "\", \"flops/spent\": " + std::to_string(f) + ", \"train/loss\": " + std::to_string(valid[i] + 0.2) +
             ", \"train/nll\": " + std::to_string(valid[i] + 0.1) + "}\n";
    lines += "{\"step\": " + std::to_string(step) + ", \"valid/loss\": " + std::to_string(valid[i]) +
             ", \"flops/spent\": " + std::to_string(f) + "}\n";
  }
  util::write_file_atomic(dir + "/metrics.jsonl", lines);
}

}  // namespace hld::report::testing
