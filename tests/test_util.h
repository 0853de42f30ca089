// Helpers shared by tests: temporary directories, running the hld-train binary, repo paths.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

namespace hld::test {

/// A fresh empty directory under the gtest temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::path(::testing::TempDir()) / "hld-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return (std::filesystem::path(path_) / rel).string(); }

 private:
  std::string path_;
};

/// Path inside the repository (tests/data/...).
inline std::string repo_path(const std::string& rel) {
  return (std::filesystem::path(HLD_SOURCE_DIR) / rel).string();
}

struct CommandResult {
  int exit_code;
  std::string output;  ///< stdout + stderr
};

/// A directory built once per build tree and shared by every test process (ctest runs each test
/// in its own process): `builder(dir)` fills a temporary directory that is then renamed into
/// place; concurrent callers wait on a file lock. Returns the directory.
std::string shared_artifact(const std::string& name, const std::function<void(const std::string&)>& builder);

/// Runs a shell command, capturing stdout+stderr and the exit code.
CommandResult run_command(const std::string& cmd);

#ifdef HLD_TRAIN_BIN
/// Runs `hld-train ARGS`.
inline CommandResult run_hld(const std::string& args) { return run_command(std::string(HLD_TRAIN_BIN) + " " + args); }
#endif

}  // namespace hld::test
