// Error types shared by every command. InputError means the user's input (a config key, a file,
// an argument) is wrong: the CLI prints its message and exits with code 2, writing nothing.
#pragma once

#include <stdexcept>
#include <string>

namespace hld {

/// Bad input from the user: config value, file contents, command-line argument. Exit code 2.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

/// A failure that running the same command again is expected to get past: a peer process or the
/// network failed under a data-parallel run. Exit code 75, like a run stopped by a signal or its
/// time limit with a checkpoint, so that requeue scripts resubmit it.
class RetryableError : public std::runtime_error {
 public:
  explicit RetryableError(const std::string& what) : std::runtime_error(what) {}
};

/// Process exit codes used by every subcommand. kExitRequeue (75, sysexits' EX_TEMPFAIL): stopped
/// with its work saved (signal, time limit) or by a RetryableError; rerun the command to continue.
enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitBadInput = 2, kExitRequeue = 75 };

}  // namespace hld

/// Throws hld::InputError when `cond` is false; `msg` is any expression convertible to string.
#define HLD_INPUT_CHECK(cond, msg)             \
  do {                                         \
    if (!(cond)) throw ::hld::InputError(msg); \
  } while (0)
