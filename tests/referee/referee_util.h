// The Python referees of the test suite (transformers, lm-evaluation-harness, TRL): the project's
// virtual environment, found from the source tree (scripts/setup.sh installs requirements.txt into
// HLD_SOURCE_DIR/.venv), and the scripts under scripts/referee/ run with it, offline.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "test_util.h"

namespace hld::test {

/// HLD_SOURCE_DIR/.venv/bin/python: the interpreter that has the pinned referees.
inline std::string venv_python() { return repo_path(".venv/bin/python"); }

/// Empty when the interpreter exists, else a message that says what to run.
inline std::string venv_python_missing() {
  const std::string py = venv_python();
  if (std::filesystem::exists(py)) return "";
  return "the referee tests need " + py +
         " (the project's virtual environment with transformers, lm-eval and trl): run scripts/setup.sh, which "
         "installs requirements.txt into .venv";
}

/// Fails the current test (ASSERT: returns from it) when the interpreter is missing.
#define HLD_REQUIRE_VENV_PYTHON()                                              \
  do {                                                                         \
    const std::string hld_missing_python = ::hld::test::venv_python_missing(); \
    ASSERT_TRUE(hld_missing_python.empty()) << hld_missing_python;             \
  } while (0)

/// Runs `scripts/referee/<script> ARGS` with the venv's interpreter, offline: the hub and
/// dataset downloads are switched off, so everything comes from local files or fails.
inline CommandResult run_referee(const std::string& script, const std::string& args) {
  const std::string env =
      "HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 "
      "TOKENIZERS_PARALLELISM=false TRANSFORMERS_VERBOSITY=error TRL_EXPERIMENTAL_SILENCE=1 ";
  return run_command(env + venv_python() + " " + repo_path("scripts/referee/" + script) + " " + args);
}

}  // namespace hld::test
