// Reading the task files' JSON-lines format with errors that name the file and line: every record
// must be a JSON object, and each field the harness reads must be there with the expected type.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hld::eval::detail {

/// The non-blank lines of a JSON-lines file, each parsed as an object.
class JsonLines {
 public:
  /// Reads the whole file; InputError naming it when it cannot be read.
  explicit JsonLines(std::string path);
  /// Next record and its 1-based line; false at the end. InputError "PATH:LINE: ..." when a line
  /// is not valid JSON (invalid UTF-8 included) or not an object.
  bool next(nlohmann::json& record, int64_t& line);
  /// "PATH:LINE".
  std::string where(int64_t line) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_, text_;
  size_t pos_ = 0;
  int64_t line_ = 0;
};

/// The string field `key` of `record`; InputError "WHERE: missing field 'key' (expected a string)".
std::string get_string(const nlohmann::json& record, const char* key, const std::string& where);
/// The field `key` as a list of strings (at least `min_size` of them).
std::vector<std::string> get_string_list(const nlohmann::json& record, const char* key, const std::string& where,
                                         size_t min_size);
/// The field `key` as an integer: a JSON integer or a string of decimal digits (the harness turns
/// digit strings into ints); InputError otherwise.
int64_t get_index(const nlohmann::json& record, const char* key, const std::string& where);

}  // namespace hld::eval::detail
