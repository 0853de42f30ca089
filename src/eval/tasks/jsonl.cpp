// JSON-lines records with file:line errors for the task readers (see jsonl.h).
#include "jsonl.h"

#include <utility>

#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::eval::detail {

JsonLines::JsonLines(std::string path) : path_(std::move(path)), text_(util::read_file(path_)) {}

std::string JsonLines::where(int64_t line) const { return path_ + ":" + std::to_string(line); }

bool JsonLines::next(nlohmann::json& record, int64_t& line) {
  while (pos_ < text_.size()) {
    size_t end = text_.find('\n', pos_);
    if (end == std::string::npos) end = text_.size();
    const std::string_view raw(text_.data() + pos_, end - pos_);
    pos_ = end + 1;
    ++line_;
    if (raw.find_first_not_of(" \t\r\f\v") == std::string_view::npos) continue;  // blank line
    try {
      record = nlohmann::json::parse(raw);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(where(line_) + ": not valid JSON (" + e.what() + ")");
    }
    HLD_INPUT_CHECK(record.is_object(), where(line_) + ": expected a JSON object per line");
    line = line_;
    return true;
  }
  return false;
}

std::string get_string(const nlohmann::json& record, const char* key, const std::string& where) {
  auto it = record.find(key);
  HLD_INPUT_CHECK(it != record.end(), where + ": missing field '" + key + "' (expected a string)");
  HLD_INPUT_CHECK(it->is_string(), where + ": field '" + key + "' is " + it->type_name() + ", expected a string");
  return it->get<std::string>();
}

std::vector<std::string> get_string_list(const nlohmann::json& record, const char* key, const std::string& where,
                                         size_t min_size) {
  auto it = record.find(key);
  const std::string what = "a list of at least " + std::to_string(min_size) + " strings";
  HLD_INPUT_CHECK(it != record.end(), where + ": missing field '" + key + "' (expected " + what + ")");
  HLD_INPUT_CHECK(it->is_array() && it->size() >= min_size, where + ": field '" + key + "' must be " + what);
  std::vector<std::string> out;
  for (const auto& v : *it) {
    HLD_INPUT_CHECK(v.is_string(), where + ": field '" + key + "' must be " + what + ", found a " + v.type_name());
    out.push_back(v.get<std::string>());
  }
  return out;
}

int64_t get_index(const nlohmann::json& record, const char* key, const std::string& where) {
  auto it = record.find(key);
  HLD_INPUT_CHECK(it != record.end(), where + ": missing field '" + key + "' (expected an integer label)");
  if (it->is_number_integer()) {
    const int64_t v = it->get<int64_t>();
    HLD_INPUT_CHECK(v >= 0, where + ": field '" + key + "' = " + std::to_string(v) + ": expected a non-negative label");
    return v;
  }
  if (it->is_string()) {
    const std::string s = it->get<std::string>();
    bool digits = !s.empty() && s.size() <= 9;
    for (char c : s) digits = digits && c >= '0' && c <= '9';
    HLD_INPUT_CHECK(digits, where + ": field '" + key + "' = \"" + s + "\": expected a label made of digits");
    return std::stoll(s);
  }
  throw InputError(where + ": field '" + key + "' is " + it->type_name() + ", expected an integer label");
}

}  // namespace hld::eval::detail
