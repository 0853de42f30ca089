// Loading an experiment config: YAML file → `base:` inheritance → model includes → `--set`
// overrides → strict parse into ExperimentConfig → validation. Every error is an InputError that
// names the key path, the value and what was expected.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hld/config/experiment.h"

namespace YAML {
class Node;
}

namespace hld::config {

/// Loads, merges and validates `path` with `overrides` ("a.b=c" strings).
ExperimentConfig load(const std::string& path, const std::vector<std::string>& overrides = {});

/// Same, from YAML text (tests); relative includes resolve against `base_dir`.
ExperimentConfig load_string(const std::string& yaml, const std::vector<std::string>& overrides = {},
                             const std::string& base_dir = ".");

/// A model shape from its own YAML file (configs/models/*.yaml), with optional overrides.
ModelConfig load_model(const std::string& path, const std::vector<std::string>& overrides = {});

/// Parses a model mapping (`path` names it in errors).
ModelConfig parse_model(const YAML::Node& node, const std::string& path);

/// Writes a model shape as a YAML mapping (for checkpoints and resolved configs).
std::string model_to_yaml(const ModelConfig& m);

/// The complete config as YAML: every key of every section, defaults written out (what a run
/// folder's config.yaml holds). load_string(to_yaml(c)) gives back c.
std::string to_yaml(const ExperimentConfig& c);

/// The complete config as key path → value text ("optimizer.lr" → "0.0004"), for fingerprints and
/// for naming the keys in which two configs differ.
std::map<std::string, std::string> flatten(const ExperimentConfig& c);

/// Applies one "a.b.c=value" override to a YAML tree (value parsed as YAML).
void apply_override(YAML::Node& root, const std::string& assignment);

}  // namespace hld::config
