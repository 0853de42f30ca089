// util/hash.h on real files: XXH3-64 known answers (from `xxhsum -H3`), streaming equal to
// one-shot across odd block boundaries, a 2 GiB sparse file hashed in bounded memory, digests
// of older versions (bare FNV-1a hex) still verifying, single corrupted bytes detected.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "hld/util/hash.h"
#include "test_util.h"

namespace hld::util {
namespace {

void write_bytes(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}

/// A field of /proc/self/status in KiB ("VmHWM", "VmRSS"), -1 when absent.
long status_kib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  return -1;
}

TEST(Hash, Xxh3KnownAnswers) {
  // Reference values: `xxhsum -H3` (xxhash 0.8.1) over the same bytes.
  EXPECT_EQ(xxh3_64("", 0), 0x2d06800538d394c2ULL);
  EXPECT_EQ(checksum("hld-train", 9).str(), "xxh3:ececa2224253e4f7");
  const std::string a(1000000, 'a');
  EXPECT_EQ(checksum(a.data(), a.size()).str(), "xxh3:b1fd6fae5285c4eb");
  // The legacy algorithm is FNV-1a 64 from hld-train's historic offset basis 1469598103934665603
  // (not the textbook 14695981039346656037: what older versions stored), printed without a prefix.
  EXPECT_EQ(checksum("", 0, HashAlgo::kFnv1a).str(), "14650fb0739d0383");
  EXPECT_EQ(checksum("a", 1, HashAlgo::kFnv1a).str(), "44bd8ad473cd9906");
  EXPECT_EQ(checksum("hld-train", 9, HashAlgo::kFnv1a).str(), "537f6b47c2d58246");
  EXPECT_EQ(checksum("hld-train", 9, HashAlgo::kFnv1a).value, fnv1a64("hld-train"));
}

TEST(Hash, DigestTextRoundTripsAndRejectsMalformedText) {
  for (const Digest d : {Digest{HashAlgo::kXxh3, 0x0123456789abcdefULL}, Digest{HashAlgo::kFnv1a, 42}}) {
    Digest back;
    ASSERT_TRUE(parse_digest(d.str(), &back)) << d.str();
    EXPECT_EQ(back, d);
  }
  EXPECT_EQ(parse_digest("00000000000000ff", "x").algo, HashAlgo::kFnv1a);  // no prefix: legacy
  Digest d;
  for (const char* bad : {"", "xxh3:", "xxh3:0123", "0123456789ABCDEF", "md5:0123456789abcdef",
                          "xxh3:0123456789abcdef0", "xxh3:0123456789abcdeg", " 0123456789abcdef"})
    EXPECT_FALSE(parse_digest(bad, &d)) << bad;
  EXPECT_THROW(parse_digest("xyz", "state.json"), InputError);
}

TEST(Hash, StreamingEqualsOneShotAcrossOddBlockBoundaries) {
  const std::string data = random_bytes((size_t{5} << 20) + 13, 1);
  // Pieces around XXH3's internal stripe (64 B), block (1 KiB) and buffer (256 B) sizes.
  const std::vector<size_t> pieces = {
      1, 3, 7, 63, 64, 65, 239, 240, 241, 255, 256, 257, 1023, 1024, 1025, 4099, (size_t{1} << 20) + 1};
  for (HashAlgo algo : {HashAlgo::kXxh3, HashAlgo::kFnv1a}) {
    const Digest whole = checksum(data.data(), data.size(), algo);
    for (size_t start = 0; start < pieces.size(); ++start) {
      Checksum s(algo);
      size_t at = 0, k = start;
      while (at < data.size()) {
        const size_t n = std::min(pieces[k++ % pieces.size()], data.size() - at);
        s.update(data.data() + at, n);
        at += n;
        if (k % 5 == 0) {
          ASSERT_EQ(s.digest(), checksum(data.data(), at, algo));  // asking does not end the stream
        }
      }
      EXPECT_EQ(s.digest(), whole) << algo_name(algo) << " from piece " << start;
    }
    Checksum s(algo);
    s.update(data.data(), 100);
    s.reset();
    EXPECT_EQ(s.digest(), checksum("", 0, algo));
    Checksum moved = std::move(s);
    moved.update(data.data(), data.size());
    EXPECT_EQ(moved.digest(), whole);
  }
}

TEST(Hash, FileChecksumEqualsOneShotForSizesAroundItsBlock) {
  test::TempDir tmp;
  const size_t mib = size_t{1} << 20;
  for (size_t n : {size_t{0}, size_t{1}, mib - 1, mib, mib + 1, 3 * mib + 17}) {
    const std::string data = random_bytes(n, n);
    const std::string path = tmp / ("f" + std::to_string(n));
    write_bytes(path, data);
    for (HashAlgo algo : {HashAlgo::kXxh3, HashAlgo::kFnv1a})
      EXPECT_EQ(file_checksum(path, algo), checksum(data.data(), data.size(), algo)) << n << " " << algo_name(algo);
  }
  EXPECT_THROW(file_checksum(tmp / "missing"), InputError);
  EXPECT_THROW(file_matches(tmp / "missing", "xxh3:0123456789abcdef"), InputError);
}

TEST(Hash, OlderFnvDigestsStillVerifyAndOneCorruptedByteIsDetected) {
  test::TempDir tmp;
  const std::string path = tmp / "model.safetensors";
  std::string data = random_bytes((size_t{3} << 20) + 5, 7);
  write_bytes(path, data);
  const std::string legacy = hex64(fnv1a64(data.data(), data.size()));  // what older versions stored
  const std::string current = file_checksum(path).str();
  ASSERT_EQ(current.rfind("xxh3:", 0), 0u);
  EXPECT_TRUE(file_matches(path, legacy));
  EXPECT_TRUE(file_matches(path, current));
  EXPECT_TRUE(data_matches(data.data(), data.size(), legacy));
  EXPECT_TRUE(data_matches(data.data(), data.size(), current));
  EXPECT_FALSE(file_matches(path, "not a digest"));
  EXPECT_FALSE(file_matches(path, "xxh3:" + legacy));  // the right digits under the wrong algorithm
  // One flipped byte at the start, around the 1 MiB read block and at the end.
  for (size_t at : {size_t{0}, (size_t{1} << 20) - 1, size_t{1} << 20, data.size() - 1}) {
    const int fd = ::open(path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const char flipped = static_cast<char>(data[at] ^ 0x01);
    ASSERT_EQ(::pwrite(fd, &flipped, 1, static_cast<off_t>(at)), 1);
    ::close(fd);
    EXPECT_FALSE(file_matches(path, legacy)) << at;
    EXPECT_FALSE(file_matches(path, current)) << at;
    write_bytes(path, data);
    EXPECT_TRUE(file_matches(path, current));
  }
}

TEST(Hash, TwoGibSparseFileIsHashedInBoundedMemory) {
  test::TempDir tmp;
  const std::string path = tmp / "sparse.bin";
  const off_t size = off_t{1} << 31;  // 2 GiB of zeros, no blocks on disk
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, size), 0);
    ::close(fd);
  }
  {  // reset the peak resident set (VmHWM) to the current one
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    if (!clear.good()) GTEST_SKIP() << "/proc/self/clear_refs is not writable here";
  }
  const long hwm_before = status_kib("VmHWM"), rss_before = status_kib("VmRSS");
  if (hwm_before < 0 || rss_before < 0) GTEST_SKIP() << "no VmHWM/VmRSS in /proc/self/status";
  const auto t0 = std::chrono::steady_clock::now();
  const Digest d = file_checksum(path);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long hwm_after = status_kib("VmHWM");
  EXPECT_EQ(d.str(), "xxh3:30304d04a68a17e3");  // `truncate -s 2G z && xxhsum -H3 z`
  const long extra_kib = hwm_after - std::max(hwm_before, rss_before);
  std::printf("[hash] 2 GiB sparse file: %.2f s (%.0f MB/s), peak RSS +%ld KiB (VmHWM %ld -> %ld KiB)\n", s,
              double(size) / 1e6 / s, extra_kib, hwm_before, hwm_after);
  RecordProperty("extra_peak_rss_kib", std::to_string(extra_kib));
  RecordProperty("mb_per_s", std::to_string(static_cast<long>(double(size) / 1e6 / s)));
  EXPECT_LT(extra_kib, 64 * 1024) << "hashing a 2 GiB file raised the peak resident set by " << extra_kib << " KiB";
}

}  // namespace
}  // namespace hld::util
