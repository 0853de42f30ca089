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

/// Process exit codes used by every subcommand.
enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitBadInput = 2 };

}  // namespace hld

/// Throws hld::InputError when `cond` is false; `msg` is any expression convertible to string.
#define HLD_INPUT_CHECK(cond, msg)             \
  do {                                         \
    if (!(cond)) throw ::hld::InputError(msg); \
  } while (0)
