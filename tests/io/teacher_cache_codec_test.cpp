// Teacher-cache record encodings: Rice-coded index sets round-trip, bf16 rounding, logq8 and
// dir8 error bounds, record sizes against the targets (≤ 320 B/token of logits at k = 128,
// ≤ d + 4 B/token of hidden state), robustness of the decoders to arbitrary bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "hld/io/teacher_cache_codec.h"
#include "hld/io/teacher_cache_format.h"
#include "hld/util/error.h"
#include "hld/util/hash.h"

namespace hld::io {
namespace {

std::vector<int64_t> random_subset(std::mt19937_64& g, int64_t V, int64_t k) {
  std::set<int64_t> s;
  std::uniform_int_distribution<int64_t> u(0, V - 1);
  while (static_cast<int64_t>(s.size()) < k) s.insert(u(g));
  std::vector<int64_t> v(s.begin(), s.end());
  std::shuffle(v.begin(), v.end(), g);
  return v;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return d / std::sqrt(na * nb);
}

TEST(TeacherCacheCodec, RecordSizesMeetTheTargets) {
  // The paper's setting: 32k vocabulary, k = 128, Gemma3-4B teacher width 2560.
  const auto q = make_layout(32000, 128, 2560, LogitsEncoding::kLogQ8, HiddenEncoding::kDir8);
  EXPECT_EQ(q.index_bytes, 160);  // plain 15-bit packing would take 240
  EXPECT_EQ(q.logits_bytes(), 160 + 128 + 4);
  EXPECT_LE(q.logits_bytes(), 320);
  EXPECT_EQ(q.hidden_bytes, 2560 + 4);
  const auto b = make_layout(32000, 128, 2560, LogitsEncoding::kBf16, HiddenEncoding::kBf16);
  EXPECT_EQ(b.logits_bytes(), 160 + 256);  // vs 1,024 for int32 + fp32
  EXPECT_EQ(b.hidden_bytes, 2 * 2560);
  // The embedded corpus' default 8192-piece vocabulary.
  EXPECT_EQ(make_layout(8192, 128, 64, LogitsEncoding::kLogQ8, HiddenEncoding::kDir8).logits_bytes(), 128 + 132);
  // Never worse than ceil(log2 V) bits per index (+1 bit per index at most for tiny k).
  for (int64_t V : {2, 3, 100, 256, 32000, 65536, 262144})
    for (int64_t k : {1, 2, 8, 64, 128})
      if (k <= V) {
        const int64_t plain = k * static_cast<int64_t>(std::ceil(std::log2(double(V))));
        EXPECT_LE(rice_worst_bits(V, k), plain + k) << V << " " << k;
      }
  EXPECT_THROW(make_layout(100, 101, 8, LogitsEncoding::kBf16, HiddenEncoding::kBf16), InputError);
  EXPECT_THROW(make_layout(100, 8, 0, LogitsEncoding::kBf16, HiddenEncoding::kBf16), InputError);
  EXPECT_THROW(parse_logits_encoding("fp8", "teacher.logits_encoding"), InputError);
  EXPECT_THROW(parse_hidden_encoding("int4", "teacher.hidden_encoding"), InputError);
}

TEST(TeacherCacheCodec, Bf16RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bf16(1.0f + 1.0f / 256), 0x3f80);  // tie → even
  EXPECT_EQ(float_to_bf16(1.0f + 3.0f / 256), 0x3f82);  // tie → even (up)
  EXPECT_EQ(float_to_bf16(1.0f + 1.5f / 256), 0x3f81);  // above the tie
  EXPECT_EQ(bf16_to_float(float_to_bf16(-2.5f)), -2.5f);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
}

TEST(TeacherCacheCodec, LogitsRoundTripIndicesExactlyAndValuesWithinBounds) {
  std::mt19937_64 g(7);
  std::normal_distribution<float> n(0, 3);
  for (int64_t V : {1, 5, 300, 8192, 32000}) {
    for (int64_t k : {1, 3, 64, 128}) {
      if (k > V) continue;
      for (auto enc : {LogitsEncoding::kBf16, LogitsEncoding::kLogQ8}) {
        const auto l = make_layout(V, k, 4, enc, HiddenEncoding::kBf16);
        std::vector<uint8_t> rec(static_cast<size_t>(l.logits_bytes()));
        for (int rep = 0; rep < 20; ++rep) {
          std::vector<int64_t> idx = random_subset(g, V, k);
          if (rep == 0) std::iota(idx.begin(), idx.end(), V - k);  // the largest first gap
          if (rep == 1) std::iota(idx.begin(), idx.end(), 0);
          std::vector<float> vals(static_cast<size_t>(k));
          for (auto& v : vals) v = 10 + n(g);
          encode_logits(l, vals.data(), idx.data(), rec.data());
          std::vector<float> dv(vals.size());
          std::vector<int64_t> di(idx.size());
          ASSERT_TRUE(decode_logits(l, rec.data(), dv.data(), di.data()));
          std::vector<size_t> ord(idx.size());
          std::iota(ord.begin(), ord.end(), 0);
          std::sort(ord.begin(), ord.end(), [&](size_t a, size_t b) { return idx[a] < idx[b]; });
          const float zmax = *std::max_element(vals.begin(), vals.end());
          const float zmin = *std::min_element(vals.begin(), vals.end());
          for (size_t j = 0; j < ord.size(); ++j) {
            ASSERT_EQ(di[j], idx[ord[j]]);
            const float z = vals[ord[j]];
            if (enc == LogitsEncoding::kBf16) {
              EXPECT_EQ(dv[j], bf16_to_float(float_to_bf16(z)));
              EXPECT_LE(std::fabs(dv[j] - z), std::fabs(z) / 256);
            } else {
              EXPECT_NEAR(dv[j], z - zmax, (zmax - zmin) / 510 + 1e-5);
              EXPECT_LE(dv[j], 0.0f);
            }
          }
        }
      }
    }
  }
  // k = V: the whole vocabulary.
  const auto l = make_layout(50, 50, 4, LogitsEncoding::kLogQ8, HiddenEncoding::kBf16);
  std::vector<int64_t> idx(50);
  std::iota(idx.begin(), idx.end(), 0);
  std::vector<float> vals(50, 1.0f), dv(50);
  std::vector<uint8_t> rec(static_cast<size_t>(l.logits_bytes()));
  std::vector<int64_t> di(50);
  encode_logits(l, vals.data(), idx.data(), rec.data());
  ASSERT_TRUE(decode_logits(l, rec.data(), dv.data(), di.data()));
  EXPECT_EQ(di, idx);
  for (float v : dv) EXPECT_EQ(v, 0.0f);  // all equal: R = 0
}

TEST(TeacherCacheCodec, EncoderRejectsImpossibleTeacherOutput) {
  const auto l = make_layout(100, 3, 4, LogitsEncoding::kBf16, HiddenEncoding::kBf16);
  std::vector<uint8_t> rec(static_cast<size_t>(l.logits_bytes()));
  const float vals[3] = {1, 2, 3};
  const int64_t dup[3] = {5, 9, 5}, out[3] = {1, 2, 100};
  EXPECT_THROW(encode_logits(l, vals, dup, rec.data()), std::runtime_error);
  EXPECT_THROW(encode_logits(l, vals, out, rec.data()), std::runtime_error);
  const float nan_vals[3] = {1, std::nanf(""), 3};
  const int64_t ok[3] = {1, 2, 3};
  EXPECT_THROW(encode_logits(l, nan_vals, ok, rec.data()), std::runtime_error);
}

TEST(TeacherCacheCodec, Dir8KeepsTheDirectionEvenWithOutlierDimensions) {
  std::mt19937_64 g(11);
  std::normal_distribution<float> n(0, 1);
  std::student_t_distribution<float> t3(3);
  const int64_t d = 2560;
  const auto l = make_layout(8, 1, d, LogitsEncoding::kBf16, HiddenEncoding::kDir8);
  ASSERT_EQ(l.hidden_bytes, d + 4);
  std::vector<uint8_t> rec(static_cast<size_t>(l.hidden_bytes));
  double worst = 1;
  for (int kind = 0; kind < 4; ++kind) {
    for (int rep = 0; rep < 25; ++rep) {
      std::vector<float> h(static_cast<size_t>(d)), back(h.size());
      for (auto& x : h) x = kind == 2 ? t3(g) : n(g) * 5;
      if (kind == 1) h[7] = 100 * 5, h[99] = -100 * 5;  // massive activations
      if (kind == 3) h[3] = 1e4;                        // one dominating dimension
      encode_hidden(l, h.data(), rec.data());
      ASSERT_TRUE(decode_hidden(l, rec.data(), back.data()));
      worst = std::min(worst, cosine(h, back));
      double nh = 0, nb = 0;
      for (size_t i = 0; i < h.size(); ++i) nh += double(h[i]) * h[i], nb += double(back[i]) * back[i];
      EXPECT_NEAR(std::sqrt(nb / nh), 1.0, 0.01);  // the norm survives too
    }
  }
  EXPECT_GE(worst, 0.9995);
  // bf16 hidden states: exact bf16 rounding.
  const auto lb = make_layout(8, 1, 5, LogitsEncoding::kBf16, HiddenEncoding::kBf16);
  const float h[5] = {0.1f, -3.3f, 0.0f, 1e-20f, 65504.f};
  std::vector<uint8_t> rb(10);
  float back[5];
  encode_hidden(lb, h, rb.data());
  ASSERT_TRUE(decode_hidden(lb, rb.data(), back));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(back[i], bf16_to_float(float_to_bf16(h[i])));
  // A zero vector stays zero.
  std::vector<float> zero(static_cast<size_t>(d), 0.0f), zb(zero.size(), 1.0f);
  encode_hidden(l, zero.data(), rec.data());
  ASSERT_TRUE(decode_hidden(l, rec.data(), zb.data()));
  EXPECT_EQ(zb, zero);
}

TEST(TeacherCacheCodec, DecodersNeverCrashOnArbitraryBytes) {
  std::mt19937_64 g(3);
  for (auto le : {LogitsEncoding::kBf16, LogitsEncoding::kLogQ8}) {
    const auto l = make_layout(1000, 16, 16, le, HiddenEncoding::kDir8);
    std::vector<uint8_t> rec(static_cast<size_t>(l.logits_bytes())), hrec(static_cast<size_t>(l.hidden_bytes));
    std::vector<float> v(16), h(16);
    std::vector<int64_t> idx(16);
    int accepted = 0;
    for (int rep = 0; rep < 3000; ++rep) {
      for (auto& b : rec) b = static_cast<uint8_t>(g());
      if (rep % 2) std::fill(rec.begin(), rec.begin() + l.index_bytes, 0xff);  // endless unary runs
      if (decode_logits(l, rec.data(), v.data(), idx.data())) {
        ++accepted;
        for (size_t j = 0; j < idx.size(); ++j) {
          ASSERT_GE(idx[j], 0);
          ASSERT_LT(idx[j], 1000);
          if (j) {
            ASSERT_GT(idx[j], idx[j - 1]);
          }
          ASSERT_TRUE(std::isfinite(v[j]));
        }
      }
      for (auto& b : hrec) b = static_cast<uint8_t>(g());
      if (decode_hidden(l, hrec.data(), h.data())) {
        for (float x : h) ASSERT_TRUE(std::isfinite(x));
      }
    }
    EXPECT_GT(accepted, 0);
  }
}

TEST(TeacherCacheCodec, ChecksumSeesEverySingleByteChange) {
  std::mt19937_64 g(5);
  std::vector<uint8_t> buf(1000);
  for (auto& b : buf) b = static_cast<uint8_t>(g());
  for (int version : {1, 2}) {  // the legacy 4-lane sum (read only) and XXH3-64
    const uint64_t base = cache_checksum(buf.data(), buf.size(), version);
    for (size_t i = 0; i < buf.size(); ++i) {
      buf[i] ^= 0x10;
      EXPECT_NE(cache_checksum(buf.data(), buf.size(), version), base) << version << " " << i;
      buf[i] ^= 0x10;
    }
    EXPECT_NE(cache_checksum(buf.data(), 999, version), base);
    EXPECT_EQ(cache_checksum(buf.data(), buf.size(), version), base);
  }
  EXPECT_EQ(cache_checksum(buf.data(), buf.size()), util::xxh3_64(buf.data(), buf.size()));
  EXPECT_EQ(cache_checksum(buf.data(), buf.size(), 1), cache_checksum_v1(buf.data(), buf.size()));
  EXPECT_NE(cache_checksum(buf.data(), buf.size(), 1), cache_checksum(buf.data(), buf.size(), 2));
  EXPECT_EQ(cache_checksum(buf.data(), buf.size(), 3), cache_checksum(buf.data(), buf.size(), 2));  // format 3: XXH3
  EXPECT_THROW(cache_checksum(buf.data(), buf.size(), 4), std::logic_error);
}

// Sampled logits store k draws with replacement: a multiset layout codes gaps without the −1, so
// ids repeat (side by side when decoded) and the worst case (every draw at V − 1) still fits.
TEST(TeacherCacheCodec, MultisetLayoutRoundTripsRepeatedIds) {
  for (auto enc : {LogitsEncoding::kBf16, LogitsEncoding::kLogQ8}) {
    const int64_t V = 50, k = 12;
    const auto l = make_layout(V, k, 4, enc, HiddenEncoding::kBf16, /*multiset=*/true);
    EXPECT_TRUE(l.multiset);
    EXPECT_EQ(l.index_bytes, (rice_worst_bits(V, k, nullptr, true) + 7) / 8);
    EXPECT_GE(rice_worst_bits(V, k, nullptr, true), rice_worst_bits(V, k));
    const std::vector<std::vector<int64_t>> cases = {{7, 0, 0, 3, 49, 49, 7, 7, 20, 0, 3, 49},
                                                     std::vector<int64_t>(k, V - 1),
                                                     std::vector<int64_t>(k, 0),
                                                     {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}};
    for (const auto& ids : cases) {
      std::vector<float> vals(k);
      for (int64_t j = 0; j < k; ++j) vals[j] = 0.25f * static_cast<float>(ids[j]) - 3.0f;  // same id, same logit
      std::vector<uint8_t> rec(l.logits_bytes());
      encode_logits(l, vals.data(), ids.data(), rec.data());
      std::vector<float> v2(k);
      std::vector<int64_t> i2(k);
      ASSERT_TRUE(decode_logits(l, rec.data(), v2.data(), i2.data()));
      auto sorted = ids;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(i2, sorted);
      const float zmax = *std::max_element(vals.begin(), vals.end());
      for (int64_t j = 0; j < k; ++j) {
        const float want = 0.25f * static_cast<float>(sorted[j]) - 3.0f;
        EXPECT_NEAR(v2[j], enc == LogitsEncoding::kBf16 ? want : want - zmax, 0.05) << j;
      }
    }
  }
}

}  // namespace
}  // namespace hld::io
