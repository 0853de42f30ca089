// Shard splits that made ShardSet fail other than with hld::InputError (found with
// fuzz/shard_fuzz.cpp): each must now be an InputError naming the file.
#include <gtest/gtest.h>

#include <string>

#include "hld/data/shards.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "test_util.h"

namespace hld::data {
namespace {

// Two empty shards whose headers claim 2^63 - 1 documents each: the split's document total
// overflowed int64 (UndefinedBehaviorSanitizer: signed integer overflow in shard_reader.cpp).
TEST(ShardFuzzRegressions, DocumentCountBeyondTheTokenCountIsAnInputError) {
  test::TempDir dir;
  const std::string empty_fnv = "14650fb0739d0383";  // the legacy FNV-1a (format 1) of no bytes
  util::write_file_atomic(dir / "index.json",
                          R"({"format":"hld-token-shards","version":1,"dtype":"uint16","vocab_size":300,"eos_id":1,)"
                          R"("tokenizer_hash":"x","tokens":0,"documents":0,"shards":[)"
                          R"({"file":"shard_00000.bin","tokens":0,"checksum":")" +
                              empty_fnv +
                              R"("},)"
                              R"({"file":"shard_00001.bin","tokens":0,"checksum":")" +
                              empty_fnv + R"("}]})");
  for (const char* s : {"shard_00000", "shard_00001"}) {
    util::write_file_atomic(dir / (std::string(s) + ".json"),
                            R"({"format":"hld-token-shard","dtype":"uint16","tokens":0,"tokenizer_hash":"x",)"
                            R"("checksum":")" +
                                empty_fnv + R"(","documents":9223372036854775807})");
    util::write_file_atomic(dir / (std::string(s) + ".bin"), "");
  }
  try {
    ShardSet set(dir.path());
    FAIL() << "accepted";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("shard_00000.json': 9223372036854775807 documents in 0 tokens"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace hld::data
