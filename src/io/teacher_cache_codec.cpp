// Teacher-cache record encodings: Rice-coded top-k index sets, bf16 / logq8 values, bf16 / dir8
// hidden states, and the chunk checksum. See the header for the formats and their error bounds.
#include "hld/io/teacher_cache_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "hld/util/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the teacher-cache checksum reads little-endian words");

namespace hld::io {
namespace {

void put_f32(uint8_t* p, float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(u >> (8 * i));
}

float get_f32(const uint8_t* p) {
  uint32_t u = 0;
  for (int i = 0; i < 4; ++i) u |= uint32_t{p[i]} << (8 * i);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

uint16_t get_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

/// LSB-first bit writer over a zeroed, fixed-size buffer.
class BitWriter {
 public:
  BitWriter(uint8_t* p, int64_t bytes) : p_(p), cap_(bytes * 8) { std::memset(p, 0, static_cast<size_t>(bytes)); }
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i, ++pos_) {
      if (pos_ >= cap_) throw std::logic_error("[teacher cache] Rice code exceeds its worst-case size");
      if ((v >> i) & 1) p_[pos_ >> 3] |= static_cast<uint8_t>(1u << (pos_ & 7));
    }
  }

 private:
  uint8_t* p_;
  int64_t cap_, pos_ = 0;
};

class BitReader {
 public:
  BitReader(const uint8_t* p, int64_t bytes) : p_(p), cap_(bytes * 8) {}
  /// False at the end of the record.
  bool bit(int& out) {
    if (pos_ >= cap_) return false;
    out = (p_[pos_ >> 3] >> (pos_ & 7)) & 1;
    ++pos_;
    return true;
  }
  bool bits(int n, uint64_t& out) {
    out = 0;
    for (int i = 0; i < n; ++i) {
      int b;
      if (!bit(b)) return false;
      out |= uint64_t(b) << i;
    }
    return true;
  }

 private:
  const uint8_t* p_;
  int64_t cap_, pos_ = 0;
};

}  // namespace

const std::vector<std::string>& logits_encoding_names() {
  static const std::vector<std::string> names = {"bf16", "logq8"};
  return names;
}

const std::vector<std::string>& hidden_encoding_names() {
  static const std::vector<std::string> names = {"bf16", "dir8"};
  return names;
}

namespace {

// The enum value named `s` among `names` (enum order); InputError naming `what` otherwise.
template <class E>
E parse_named(const std::vector<std::string>& names, const std::string& s, const std::string& what) {
  for (size_t i = 0; i < names.size(); ++i)
    if (s == names[i]) return static_cast<E>(i);
  std::string expected;
  for (size_t i = 0; i < names.size(); ++i)
    expected += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  throw InputError(what + " = '" + s + "': expected " + expected);
}

}  // namespace

const char* to_string(LogitsEncoding e) { return logits_encoding_names().at(static_cast<size_t>(e)).c_str(); }
const char* to_string(HiddenEncoding e) { return hidden_encoding_names().at(static_cast<size_t>(e)).c_str(); }

LogitsEncoding parse_logits_encoding(const std::string& s, const std::string& what) {
  return parse_named<LogitsEncoding>(logits_encoding_names(), s, what);
}

HiddenEncoding parse_hidden_encoding(const std::string& s, const std::string& what) {
  return parse_named<HiddenEncoding>(hidden_encoding_names(), s, what);
}

int64_t rice_worst_bits(int64_t V, int64_t k, int* best_b, bool multiset) {
  int64_t best = -1;
  const int64_t span = multiset ? V - 1 : V - k;  // the largest sum of the gaps
  for (int b = 0; b < 32; ++b) {
    const int64_t bits = k * (b + 1) + (span >> b);
    if (best < 0 || bits < best) {
      best = bits;
      if (best_b) *best_b = b;
    }
  }
  return best;
}

CacheLayout make_layout(int64_t vocab, int64_t k, int64_t d, LogitsEncoding le, HiddenEncoding he, bool multiset) {
  HLD_INPUT_CHECK(vocab >= 1 && vocab <= (int64_t{1} << 31),
                  "teacher cache: vocabulary size " + std::to_string(vocab) + " outside [1, 2^31]");
  HLD_INPUT_CHECK(k >= 1 && k <= vocab, "teacher cache: top_k " + std::to_string(k) + " outside [1, vocabulary size " +
                                            std::to_string(vocab) + "]");
  HLD_INPUT_CHECK(d >= 1 && d <= (int64_t{1} << 20),
                  "teacher cache: hidden size " + std::to_string(d) + " outside [1, 2^20]");
  CacheLayout l;
  l.vocab_size = vocab;
  l.top_k = k;
  l.hidden_size = d;
  l.logits = le;
  l.hidden = he;
  l.multiset = multiset;
  l.index_bytes = (rice_worst_bits(vocab, k, &l.rice_bits, multiset) + 7) / 8;
  l.value_bytes = le == LogitsEncoding::kBf16 ? 2 * k : k + 4;
  l.hidden_bytes = he == HiddenEncoding::kBf16 ? 2 * d : d + 4;
  return l;
}

uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f)) return static_cast<uint16_t>((u >> 16) | 0x40);  // keep a quiet NaN
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

float bf16_to_float(uint16_t b) {
  const uint32_t u = uint32_t{b} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void encode_logits(const CacheLayout& l, const float* vals, const int64_t* idx, uint8_t* out) {
  const int64_t k = l.top_k;
  std::vector<int64_t> order(static_cast<size_t>(k));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return idx[a] < idx[b]; });
  BitWriter w(out, l.index_bytes);
  int64_t prev = -1;
  for (int64_t j : order) {
    const int64_t id = idx[j];
    if (id < 0 || id >= l.vocab_size || (id == prev && !l.multiset))
      throw std::runtime_error("[teacher cache] top-k ids must be distinct and in [0, vocab): got " +
                               std::to_string(id));
    if (!std::isfinite(vals[j])) throw std::runtime_error("[teacher cache] the teacher produced a non-finite logit");
    const uint64_t gap = static_cast<uint64_t>(l.multiset ? id - std::max<int64_t>(prev, 0) : id - prev - 1);
    for (uint64_t q = gap >> l.rice_bits; q > 0; --q) w.put(1, 1);
    w.put(0, 1);
    w.put(gap, l.rice_bits);
    prev = id;
  }
  uint8_t* v = out + l.index_bytes;
  if (l.logits == LogitsEncoding::kBf16) {
    for (int64_t r = 0; r < k; ++r) put_u16(v + 2 * r, float_to_bf16(vals[order[r]]));
    return;
  }
  float zmax = vals[0], zmin = vals[0];
  for (int64_t j = 1; j < k; ++j) {
    zmax = std::max(zmax, vals[j]);
    zmin = std::min(zmin, vals[j]);
  }
  const float range = zmax - zmin;  // R ≥ 0
  if (!std::isfinite(range)) throw std::runtime_error("[teacher cache] top-k logits span an infinite range");
  put_f32(v, range / 255.0f);
  for (int64_t r = 0; r < k; ++r) {
    const double u = static_cast<double>(zmax) - vals[order[r]];
    const double q = range > 0 ? std::nearbyint(u / range * 255.0) : 0.0;
    v[4 + r] = static_cast<uint8_t>(std::clamp(q, 0.0, 255.0));
  }
}

bool decode_logits(const CacheLayout& l, const uint8_t* in, float* vals, int64_t* idx) {
  const int64_t k = l.top_k;
  BitReader r(in, l.index_bytes);
  int64_t prev = -1;
  for (int64_t j = 0; j < k; ++j) {
    uint64_t q = 0;
    for (int b;;) {
      if (!r.bit(b)) return false;
      if (!b) break;
      if (++q > static_cast<uint64_t>(l.vocab_size)) return false;
    }
    uint64_t low;
    if (!r.bits(l.rice_bits, low)) return false;
    const uint64_t gap = (q << l.rice_bits) | low;
    if (gap >= static_cast<uint64_t>(l.vocab_size)) return false;
    const int64_t id = (l.multiset ? std::max<int64_t>(prev, 0) : prev + 1) + static_cast<int64_t>(gap);
    if (id >= l.vocab_size) return false;
    idx[j] = prev = id;
  }
  const uint8_t* v = in + l.index_bytes;
  if (l.logits == LogitsEncoding::kBf16) {
    for (int64_t j = 0; j < k; ++j) {
      vals[j] = bf16_to_float(get_u16(v + 2 * j));
      if (!std::isfinite(vals[j])) return false;
    }
    return true;
  }
  const float step = get_f32(v);
  if (!std::isfinite(step) || step < 0 || step > std::numeric_limits<float>::max() / 256) return false;
  for (int64_t j = 0; j < k; ++j) vals[j] = -step * static_cast<float>(v[4 + j]);
  return true;
}

void encode_hidden(const CacheLayout& l, const float* h, uint8_t* out) {
  const int64_t d = l.hidden_size;
  if (l.hidden == HiddenEncoding::kBf16) {
    for (int64_t i = 0; i < d; ++i) {
      if (!std::isfinite(h[i]))
        throw std::runtime_error("[teacher cache] the teacher produced a non-finite hidden state");
      put_u16(out + 2 * i, float_to_bf16(h[i]));
    }
    return;
  }
  float m = 0;
  for (int64_t i = 0; i < d; ++i) {
    if (!std::isfinite(h[i]))
      throw std::runtime_error("[teacher cache] the teacher produced a non-finite hidden state");
    m = std::max(m, std::fabs(h[i]));
  }
  put_f32(out, m);
  const double log1p_mu = std::log1p(kDir8Mu);
  for (int64_t i = 0; i < d; ++i) {
    const double a = m > 0 ? std::fabs(h[i]) / m : 0.0;
    const double c = std::min(127.0, std::nearbyint(127.0 * std::log1p(kDir8Mu * a) / log1p_mu));
    const int code = static_cast<int>(h[i] < 0 ? -c : c);
    out[4 + i] = static_cast<uint8_t>(static_cast<int8_t>(code));
  }
}

bool decode_hidden(const CacheLayout& l, const uint8_t* in, float* h) {
  const int64_t d = l.hidden_size;
  if (l.hidden == HiddenEncoding::kBf16) {
    for (int64_t i = 0; i < d; ++i) {
      h[i] = bf16_to_float(get_u16(in + 2 * i));
      if (!std::isfinite(h[i])) return false;
    }
    return true;
  }
  const float m = get_f32(in);
  if (!std::isfinite(m) || m < 0) return false;
  // The 255 magnitudes a code can take, computed once per record.
  const double log1p_mu = std::log1p(kDir8Mu);
  float mag[128];
  for (int c = 0; c < 128; ++c) mag[c] = static_cast<float>(m * std::expm1(c / 127.0 * log1p_mu) / kDir8Mu);
  for (int64_t i = 0; i < d; ++i) {
    const int code = static_cast<int8_t>(in[4 + i]);
    if (code == -128) return false;
    h[i] = code < 0 ? -mag[-code] : mag[code];
  }
  return true;
}

uint64_t cache_checksum_v1(const void* data, size_t n) {
  constexpr uint64_t kPrime = 1099511628211ULL;
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t lane[4] = {1469598103934665603ULL, 0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL};
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int j = 0; j < 4; ++j) {
      uint64_t w;
      std::memcpy(&w, p + i + 8 * j, 8);
      lane[j] = (lane[j] ^ w) * kPrime;
    }
  uint64_t h = lane[0];
  for (int j = 1; j < 4; ++j) h = (h * kPrime) ^ lane[j];
  for (; i < n; ++i) h = (h ^ p[i]) * kPrime;
  return (h ^ static_cast<uint64_t>(n)) * kPrime;
}

}  // namespace hld::io
