// Strict typed YAML mapping access with key-path errors.
#include "hld/config/yaml_reader.h"

#include <cmath>
#include <sstream>

#include "hld/util/error.h"

namespace hld::config {

YamlReader::YamlReader(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {
  if (node_ && !node_.IsNull() && !node_.IsMap())
    throw InputError((path_.empty() ? std::string("config") : path_) + ": expected a mapping of keys to values");
}

std::string YamlReader::key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

bool YamlReader::has(const std::string& key) const {
  return node_ && node_.IsMap() && node_[key] && !node_[key].IsNull();
}

std::optional<YAML::Node> YamlReader::scalar(const std::string& key, const char* expected) {
  seen_.insert(key);
  if (!has(key)) return std::nullopt;
  YAML::Node v = node_[key];
  if (!v.IsScalar())
    throw InputError(key_path(key) + ": expected " + expected + ", got a " + (v.IsMap() ? "mapping" : "list"));
  return v;
}

void YamlReader::get(const std::string& key, std::string& out) {
  if (auto v = scalar(key, "a string")) out = v->Scalar();
}

void YamlReader::get(const std::string& key, double& out) {
  auto o = scalar(key, "a number");
  if (!o) return;
  const YAML::Node& v = *o;
  double d;
  if (!YAML::convert<double>::decode(v, d) || !std::isfinite(d))
    throw InputError(key_path(key) + " = '" + v.Scalar() + "': expected a finite number");
  out = d;
}

void YamlReader::get(const std::string& key, int64_t& out) {
  auto o = scalar(key, "an integer");
  if (!o) return;
  const YAML::Node& v = *o;
  long long i;
  if (YAML::convert<long long>::decode(v, i)) {
    out = i;
    return;
  }
  // Accept integral values written in scientific notation ("1e6").
  double d;
  if (YAML::convert<double>::decode(v, d) && std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) {
    out = static_cast<int64_t>(d);
    return;
  }
  throw InputError(key_path(key) + " = '" + v.Scalar() + "': expected an integer");
}

void YamlReader::get(const std::string& key, uint64_t& out) {
  int64_t i = static_cast<int64_t>(out);
  get(key, i);
  if (i < 0) throw InputError(key_path(key) + " = " + std::to_string(i) + ": expected a non-negative integer");
  out = static_cast<uint64_t>(i);
}

void YamlReader::get(const std::string& key, bool& out) {
  auto o = scalar(key, "true or false");
  if (!o) return;
  const YAML::Node& v = *o;
  bool b;
  if (!YAML::convert<bool>::decode(v, b))
    throw InputError(key_path(key) + " = '" + v.Scalar() + "': expected true or false");
  out = b;
}

void YamlReader::get(const std::string& key, std::vector<std::string>& out) {
  seen_.insert(key);
  if (!has(key)) return;
  YAML::Node v = node_[key];
  if (v.IsScalar()) {
    out = {v.Scalar()};
    return;
  }
  if (!v.IsSequence()) throw InputError(key_path(key) + ": expected a list of strings");
  out.clear();
  for (const auto& e : v) {
    if (!e.IsScalar()) throw InputError(key_path(key) + ": expected a list of strings");
    out.push_back(e.Scalar());
  }
}

void YamlReader::get_choice(const std::string& key, std::string& out, const std::vector<std::string>& choices) {
  std::string v = out;
  get(key, v);
  for (const auto& c : choices)
    if (c == v) {
      out = v;
      return;
    }
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  throw InputError(key_path(key) + " = '" + v + "': expected one of " + list);
}

YAML::Node YamlReader::child(const std::string& key) {
  seen_.insert(key);
  if (!has(key)) return YAML::Node();
  return node_[key];
}

void YamlReader::finish() const {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    const std::string k = kv.first.Scalar();
    if (seen_.count(k)) continue;
    std::string known;
    for (const auto& s : seen_) known += (known.empty() ? "" : ", ") + s;
    throw InputError(key_path(k) + ": unknown key (known keys here: " + known + ")");
  }
}

}  // namespace hld::config
