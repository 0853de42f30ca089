// Shared helpers of the libFuzzer targets in fuzz/: the per-process scratch directory that readers
// taking a path read from, splitting one input into several files, and the verdict on exceptions
// (hld::InputError is the expected rejection; anything else escaping a reader is a finding).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "hld/util/error.h"

namespace hld::fuzz {

/// Separator between the files packed into one input ("index.json", then a header, then data).
inline constexpr std::string_view kFileSeparator = "\n--8<--\n";

/// A directory private to this process (libFuzzer -jobs/-fork run several), made on first use and
/// removed at exit. Readers get the same paths every iteration, so nothing accumulates.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/hld-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      std::perror("hld fuzz: mkdtemp");
      std::abort();
    }
    static std::string keep = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(keep, ec);
    });
    return tmpl;
  }();
  return dir;
}

/// scratch_dir()/name.
inline std::string scratch_path(const std::string& name) { return scratch_dir() + "/" + name; }

/// Writes `bytes` to `path` (truncating); aborts on I/O failure (a harness problem, not a finding).
inline void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) {
    std::fprintf(stderr, "hld fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

/// Splits `in` at kFileSeparator into at most `n` parts (the last part keeps any further
/// separators); missing parts are empty.
inline std::vector<std::string_view> split_files(std::string_view in, size_t n) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    const size_t at = in.find(kFileSeparator);
    if (at == std::string_view::npos) break;
    parts.push_back(in.substr(0, at));
    in.remove_prefix(at + kFileSeparator.size());
  }
  parts.push_back(in);
  parts.resize(n);
  return parts;
}

/// Fails the run (libFuzzer reports the abort as a crash and keeps the input) with a message.
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "==hld-fuzz== FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

/// Runs `body`; InputError is the reader's correct answer to bad bytes, every other exception
/// escaping the reader is a finding (reported with its type and message).
template <class F>
void expect_only_input_errors(F&& body) {
  try {
    body();
  } catch (const InputError& e) {
    // Rejected, as it should be. HLD_FUZZ_VERBOSE=1 prints why (to check that seeds are accepted).
    static const bool verbose = std::getenv("HLD_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "hld fuzz: rejected: %s\n", e.what());
  } catch (const std::exception& e) {
    finding(std::string("exception other than hld::InputError escaped: ") + typeid(e).name() + ": " + e.what());
  } catch (...) {
    finding("non-std exception escaped");
  }
}

}  // namespace hld::fuzz
