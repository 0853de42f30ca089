// libFuzzer target: feeds each input, as a token-shard split directory, to hld::data::ShardSet
// (src/data/shard_reader.cpp): index.json, then shard_00000.json, shard_00000.bin,
// shard_00001.json, shard_00001.bin, separated by "\n--8<--\n" (missing parts are empty files).
// An accepted split is then read front to back (ids must be inside the vocabulary) and verified.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "hld/data/shards.h"

using namespace hld;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split_files(std::string_view(reinterpret_cast<const char*>(data), size), 5);
  fuzz::write_bytes(fuzz::scratch_path("index.json"), parts[0]);
  for (int s = 0; s < 2; ++s) {
    fuzz::write_bytes(fuzz::scratch_path(data::shard_file_name(s, "json")), parts[1 + 2 * s]);
    fuzz::write_bytes(fuzz::scratch_path(data::shard_file_name(s, "bin")), parts[2 + 2 * s]);
  }
  fuzz::expect_only_input_errors([&] {
    data::ShardSet set(fuzz::scratch_dir());
    std::vector<int32_t> buf(4096);
    const uint64_t n = std::min<uint64_t>(set.num_tokens(), uint64_t{1} << 16);
    for (uint64_t at = 0; at < n; at += buf.size()) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(buf.size(), n - at));
      set.read(at, take, buf.data());
      for (size_t i = 0; i < take; ++i)
        if (buf[i] < 0 || buf[i] >= set.vocab_size()) fuzz::finding("read an id outside the vocabulary");
    }
    set.verify();
  });
  return 0;
}
