// Inputs that made the safetensors parser fail other than with hld::InputError (found while
// writing fuzz/safetensors_fuzz.cpp): each must now be an InputError naming the file.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "hld/io/safetensors_format.h"
#include "hld/util/error.h"

namespace hld::io {
namespace {

// 8-byte little-endian header length, then the JSON header, no data.
std::string with_header(const std::string& json) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((uint64_t{json.size()} >> (8 * i)) & 0xff);
  return s + json;
}

std::string error_of(const std::string& file) {
  try {
    parse_safetensors(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "nested.safetensors");
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// The error message used to dump() the bad value, recursing once per nesting level: a header of
// 600 KiB (the limit is 100 MiB) overflowed the stack (AddressSanitizer: stack-overflow in
// nlohmann's serializer).
TEST(SafetensorsFuzzRegressions, DeeplyNestedDtypeIsAnInputError) {
  const std::string msg =
      error_of(with_header("{\"w\":{\"dtype\":" + nested(300000) + ",\"shape\":[],\"data_offsets\":[0,0]}}"));
  EXPECT_NE(msg.find("nested.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tensor 'w' has an unknown dtype (a JSON array)"), std::string::npos) << msg;
}

TEST(SafetensorsFuzzRegressions, DeeplyNestedDimensionIsAnInputError) {
  const std::string msg =
      error_of(with_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[" + nested(300000) + "],\"data_offsets\":[0,4]}}"));
  EXPECT_NE(msg.find("nested.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("non-integer dimension (a JSON array)"), std::string::npos) << msg;
}

}  // namespace
}  // namespace hld::io
