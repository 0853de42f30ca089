// Strict typed access to one YAML mapping: every key read is remembered, and finish() rejects
// the keys nobody asked for. Errors name the full key path ("optimizer.lr").
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hld::config {

class YamlReader {
 public:
  /// `path` is the key path of `node` ("" for the root, else "optimizer" etc.).
  YamlReader(const YAML::Node& node, std::string path);

  bool has(const std::string& key) const;
  void get(const std::string& key, std::string& out);
  void get(const std::string& key, double& out);
  void get(const std::string& key, int64_t& out);
  void get(const std::string& key, uint64_t& out);
  void get(const std::string& key, bool& out);
  void get(const std::string& key, std::vector<std::string>& out);
  /// Reads a string that must be one of `choices`.
  void get_choice(const std::string& key, std::string& out, const std::vector<std::string>& choices);
  /// A nested mapping (marks `key` as read); null node when absent.
  YAML::Node child(const std::string& key);
  /// Full key path of `key` ("optimizer.lr").
  std::string key_path(const std::string& key) const;
  /// Throws InputError listing unknown keys (with the known ones as a hint).
  void finish() const;

 private:
  std::optional<YAML::Node> scalar(const std::string& key, const char* expected);
  YAML::Node node_;
  std::string path_;
  std::set<std::string> seen_;
};

}  // namespace hld::config
