// Helpers shared by the eval tests: fixture paths, temporary directories, writing small files.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "hld/util/error.h"

namespace hld::eval::testing {

/// A file under tests/data/eval (the task fixtures, in each dataset's original format).
inline std::string fixture(const std::string& name) {
  return std::string(HLD_SOURCE_DIR) + "/tests/data/eval/" + name;
}

/// A fresh directory under the test temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "/hld_eval_XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

/// Runs `fn`, expects an InputError whose message contains every one of `parts`.
template <class Fn>
void expect_input_error(Fn fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an InputError";
  } catch (const hld::InputError& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

}  // namespace hld::eval::testing
