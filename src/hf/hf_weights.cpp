// Hugging Face weight files: single or sharded safetensors, read through the index's weight_map
// (checked against the shards in both directions) and written with transformers' shard naming.
#include "hld/hf/hf_weights.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <set>

#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::hf {
namespace {

constexpr const char* kIndex = "model.safetensors.index.json";
constexpr const char* kSingle = "model.safetensors";
constexpr uint64_t kMaxIndexBytes = 100ull << 20;

// A shard name from an untrusted index: a plain file name in the model directory.
bool plain_file_name(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos && n.find('\\') == std::string::npos &&
         n.find('\0') == std::string::npos;
}

// Parses the index, refusing a weight_map that names a tensor twice (JSON keeps only the last).
std::map<std::string, std::string> read_weight_map(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  HLD_INPUT_CHECK(!ec, "cannot read '" + path + "'");
  HLD_INPUT_CHECK(size <= kMaxIndexBytes, path + ": " + std::to_string(size) + " bytes, more than an index can be");
  std::string top_key, duplicate;
  std::set<std::string> seen;
  auto cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    if (ev == nlohmann::json::parse_event_t::key && parsed.is_string()) {
      if (depth == 1) top_key = parsed.get<std::string>();
      if (depth == 2 && top_key == "weight_map" && !seen.insert(parsed.get<std::string>()).second && duplicate.empty())
        duplicate = parsed.get<std::string>();
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(util::read_file(path), cb);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": invalid JSON: " + e.what());
  }
  HLD_INPUT_CHECK(duplicate.empty(), path + ": weight_map lists tensor '" + duplicate + "' twice");
  HLD_INPUT_CHECK(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(),
                  path + ": expected an object with a \"weight_map\" object {tensor: shard file}");
  std::map<std::string, std::string> map;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    HLD_INPUT_CHECK(it.value().is_string(), path + ": weight_map['" + it.key() + "'] is not a file name string");
    const std::string file = it.value().get<std::string>();
    HLD_INPUT_CHECK(plain_file_name(file), path + ": weight_map['" + it.key() + "'] = '" + file +
                                               "': expected a file name inside the model directory");
    map.emplace(it.key(), file);
  }
  HLD_INPUT_CHECK(!map.empty(), path + ": weight_map is empty");
  return map;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

HfWeights::HfWeights(const std::string& dir) : dir_(dir) {
  const fs::path index = fs::path(dir) / kIndex, single = fs::path(dir) / kSingle;
  if (!fs::exists(index)) {
    HLD_INPUT_CHECK(fs::exists(single), "'" + single.string() + "' does not exist, nor does '" + index.string() +
                                            "' (expected a Hugging Face model directory)");
    files_.push_back(std::make_unique<io::MappedSafetensors>(single.string()));
    for (const auto& [name, e] : files_[0]->index().tensors) where_.emplace(name, 0);
    return;
  }
  sharded_ = true;
  const std::string ip = index.string();
  const auto map = read_weight_map(ip);
  std::map<std::string, size_t> file_ids;
  for (const auto& [tensor, file] : map) {
    if (file_ids.count(file)) continue;
    const fs::path p = fs::path(dir) / file;
    HLD_INPUT_CHECK(fs::exists(p), ip + ": shard '" + p.string() + "' (holding '" + tensor + "') does not exist");
    file_ids.emplace(file, files_.size());
    files_.push_back(std::make_unique<io::MappedSafetensors>(p.string()));
  }
  // Every shard's tensors must be exactly those the map places in it.
  for (const auto& [file, id] : file_ids) {
    const auto& f = *files_[id];
    for (const auto& [name, e] : f.index().tensors) {
      auto m = map.find(name);
      HLD_INPUT_CHECK(m != map.end(), f.path() + ": tensor '" + name + "' is not in the weight_map of '" + ip + "'");
      HLD_INPUT_CHECK(m->second == file, f.path() + ": tensor '" + name + "' is also here, but '" + ip +
                                             "' places it in '" + m->second + "' (a tensor in two shards)");
      where_.emplace(name, id);
    }
  }
  for (const auto& [tensor, file] : map)
    HLD_INPUT_CHECK(where_.count(tensor), ip + ": weight_map places '" + tensor + "' in '" +
                                              (fs::path(dir) / file).string() + "', which does not hold it");
}

std::vector<std::string> HfWeights::names() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : where_) out.push_back(name);
  return out;
}

uint64_t HfWeights::data_bytes() const {
  uint64_t n = 0;
  for (const auto& [name, f] : where_) n += entry(name).end - entry(name).begin;
  return n;
}

uint64_t parse_shard_size(const std::string& text) {
  const std::string s = upper(text);
  size_t digits = 0;
  while (digits < s.size() && (std::isdigit(static_cast<unsigned char>(s[digits])) || s[digits] == '.')) ++digits;
  const std::string num = s.substr(0, digits), unit = s.substr(digits);
  static const std::map<std::string, double> kUnits = {
      {"", 1},      {"B", 1},        {"KB", 1e3},        {"MB", 1e6},           {"GB", 1e9},
      {"TB", 1e12}, {"KIB", 1024.0}, {"MIB", 1048576.0}, {"GIB", 1073741824.0}, {"TIB", 1099511627776.0}};
  auto u = kUnits.find(unit);
  double v = 0;
  bool ok = !num.empty() && u != kUnits.end();
  if (ok) {
    try {
      size_t used = 0;
      v = std::stod(num, &used);
      ok = used == num.size() && v > 0;
    } catch (const std::exception&) {
      ok = false;
    }
  }
  HLD_INPUT_CHECK(ok && v * u->second >= 1 && v * u->second < 1e18,
                  "--max-shard-size '" + text + "': expected a size such as 5GB, 500MB, 2GiB or a byte count");
  return static_cast<uint64_t>(v * u->second);
}

std::vector<std::string> write_hf_weights(const std::string& dir, const io::TensorMap& tensors,
                                          uint64_t max_shard_bytes, torch::ScalarType dtype) {
  // Plan the shards: name order, a new shard whenever the next tensor would overflow this one.
  std::vector<io::TensorMap> shards(1);
  uint64_t current = 0, total = 0;
  for (const auto& [name, t] : tensors) {
    const uint64_t bytes =
        static_cast<uint64_t>(t.numel()) * (t.is_floating_point() ? c10::elementSize(dtype) : t.element_size());
    if (current > 0 && current + bytes > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().emplace(name, t);
    current += bytes;
    total += bytes;
  }
  fs::create_directories(dir);
  std::vector<std::string> written;
  const std::map<std::string, std::string> meta = {{"format", "pt"}};
  if (shards.size() == 1) {
    io::save_safetensors((fs::path(dir) / kSingle).string(), shards[0], meta, dtype);
    written.push_back(kSingle);
  } else {
    nlohmann::ordered_json index;
    index["metadata"] = {{"total_size", total}};
    nlohmann::ordered_json map = nlohmann::ordered_json::object();
    for (size_t k = 0; k < shards.size(); ++k) {
      char name[64];
      std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", k + 1, shards.size());
      io::save_safetensors((fs::path(dir) / name).string(), shards[k], meta, dtype);
      for (const auto& [t, v] : shards[k]) map[t] = name;
      written.push_back(name);
    }
    index["weight_map"] = map;
    util::write_file_atomic((fs::path(dir) / kIndex).string(), index.dump(2) + "\n");
    written.push_back(kIndex);
  }
  // A weight file of an earlier export left beside these would be read instead of (or with) them.
  const std::set<std::string> keep(written.begin(), written.end());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    const bool weights = n == kSingle || n == kIndex ||
                         (n.rfind("model-", 0) == 0 && n.size() > 12 && n.find("-of-") != std::string::npos &&
                          n.compare(n.size() - 12, 12, ".safetensors") == 0);
    if (weights && !keep.count(n)) fs::remove(e.path(), ec);
  }
  return written;
}

}  // namespace hld::hf
