// Helpers shared by tests: temporary directories, running the hld-train binary, repo paths.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

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
inline std::string repo_path(const std::string& rel) { return (std::filesystem::path(HLD_SOURCE_DIR) / rel).string(); }

struct CommandResult {
  int exit_code;
  std::string output;  ///< stdout + stderr
};

/// A directory built once and shared by every test process (ctest runs each test in its own
/// process), keyed on `inputs` (what the builder reads: file contents, configs, other artifacts'
/// paths) and on the binaries that build it (hld_tests and hld-train: size and modification time),
/// so that a changed input or a rebuilt binary builds it anew: DIR/<name>-<key>. `builder(dir)` fills
/// a temporary directory that is renamed into place, with `.done`, only when the builder added no
/// test failure; otherwise the test fails and nothing is kept. Concurrent callers wait on a file
/// lock. Returns the directory.
std::string shared_artifact(const std::string& name, const std::string& inputs,
                            const std::function<void(const std::string&)>& builder);

/// The contents of the repository file `rel` (an input of a shared artifact).
std::string repo_file(const std::string& rel);

/// The regular files directly in `dir`, name → contents (to compare outputs bitwise).
std::map<std::string, std::string> read_dir_files(const std::string& dir);

/// Runs a shell command, capturing stdout+stderr and the exit code.
CommandResult run_command(const std::string& cmd);

/// A small tmpfs mounted on a fresh directory for full-disk tests, unmounted and removed at
/// destruction. mounted() is false where this process may not mount; tests then limit the file
/// size instead (RLIMIT_FSIZE: writes fail with EFBIG instead of ENOSPC, through the same paths;
/// HLD_TEST_NO_MOUNT=1 forces that).
class SmallFs {
 public:
  explicit SmallFs(uint64_t bytes);
  ~SmallFs();
  SmallFs(const SmallFs&) = delete;
  SmallFs& operator=(const SmallFs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& path() const { return path_; }
  /// Fills the filesystem with `path()/.filler` until about `leave` bytes stay free.
  void fill(uint64_t leave);
  /// Removes the filler again.
  void drain();

 private:
  std::string path_;
  bool mounted_ = false;
};

/// What run_with_kills did: how many runs it SIGKILLed, and the last run's result.
struct KillRun {
  int kills = 0;
  CommandResult final;
};

/// Runs the shell command `cmd` in its own process group and SIGKILLs the whole group
/// `delays_s[i]` seconds after its i-th start when it is still running, restarting it after each
/// kill; after the last delay it runs once more to completion. A run that ends before its delay
/// ends the loop (its result is `final`).
KillRun run_with_kills(const std::string& cmd, const std::vector<double>& delays_s);

/// `n` kill delays, uniform in [lo·T, hi·T] for a job whose uninterrupted run took `t_s` seconds
/// (seeded, so a failure reproduces): spread over the job's life while work still accumulates.
std::vector<double> kill_delays(double t_s, int n, unsigned seed, double lo = 0.05, double hi = 0.3);

/// Seconds since an arbitrary epoch (steady clock), for timing reference runs.
double now_s();

#ifdef HLD_TRAIN_BIN
/// Runs `hld-train ARGS`.
inline CommandResult run_hld(const std::string& args) { return run_command(std::string(HLD_TRAIN_BIN) + " " + args); }
#endif

}  // namespace hld::test
