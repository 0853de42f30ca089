// Shared training-test fixtures: a small real corpus (embedded English corpus subset) with a
// trained SentencePiece tokenizer and shards, and a tiny teacher pre-trained with NLL. Built once
// per build tree (test::shared_artifact) and reused by every test process.
#pragma once

#include <string>
#include <vector>

#include "hld/config/experiment.h"

namespace hld::test {

/// DIR with tok.model and shards/{train,valid} (`text EOS`, written with --no-bos) from ~3000
/// documents of the embedded corpus.
std::string small_corpus();

/// YAML for a tiny student experiment on small_corpus() (run.dir, objective etc. via overrides).
std::string tiny_experiment_yaml();

/// A run folder with a tiny teacher trained with NLL on small_corpus().
std::string tiny_teacher();

/// Loads tiny_experiment_yaml() with the teacher set and `overrides` applied.
config::ExperimentConfig tiny_config(const std::vector<std::string>& overrides);

}  // namespace hld::test
