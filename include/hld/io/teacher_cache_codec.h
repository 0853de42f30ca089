// Per-token record encodings of the offline teacher cache, without LibTorch (SPEC §5).
//
// Every token of a cache stores one fixed-size logits record and one fixed-size hidden record.
//
// Logits record (top-k of the teacher's logits, before temperature):
//   indices  the k vocabulary ids sorted ascending, Rice-coded gaps (g0 = i0, gj = ij − ij−1 − 1)
//            with parameter b chosen from (V, k) so that the worst case, k·(b+1) + ⌊(V−k)/2^b⌋
//            bits, is smallest; the record reserves that worst case, so records stay fixed-size.
//            At V = 32 000, k = 128 this is 160 bytes (plain 15-bit packing: 240).
//            A multiset layout (sampled logits: k draws with replacement) codes gj = ij − ij−1, so
//            an id may repeat; its worst case is k·(b+1) + ⌊(V−1)/2^b⌋ bits. A repeated id's
//            count is the length of its run.
//   values   in the same (ascending-index) order, either
//            bf16   the logits rounded to bfloat16 (round-to-nearest-even): exact when the teacher
//                   computes in bf16, otherwise a relative error ≤ 2⁻⁸ per logit (8 significant bits); or
//            logq8  the log-probabilities relative to the top entry, u = z_max − z ∈ [0, R],
//                   quantised uniformly to 8 bits with a per-token float32 scale R/255
//                   (R = z_max − z_min over the k entries). Decoding gives z − z_max ≤ 0: KD only
//                   uses the values through softmax(z/τ) over the k entries, which is
//                   shift-invariant, so for every τ this is the same distribution as the logits'.
// Hidden record (residual stream after the hint layer, width d):
//   bf16     the d values rounded to bfloat16;
//   dir8     µ-law (µ = 255) 8-bit codes of x / max|x| plus max|x| as float32 (d + 4 bytes).
//            The hint losses compare L2-normalised vectors, so what must survive is the
//            direction: µ-law keeps cosine ≥ 0.9998 to the original even with outlier
//            dimensions hundreds of times the typical magnitude (uniform 8-bit codes fall to
//            ≈ 0.996 there). The decoded vector also keeps the original norm approximately.
// All multi-byte fields are little-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hld::io {

enum class LogitsEncoding { kBf16, kLogQ8 };
enum class HiddenEncoding { kBf16, kDir8 };

/// The encodings' names, in enum order: what teacher.logits_encoding / teacher.hidden_encoding
/// accept and cache headers store.
const std::vector<std::string>& logits_encoding_names();
const std::vector<std::string>& hidden_encoding_names();
const char* to_string(LogitsEncoding e);
const char* to_string(HiddenEncoding e);
/// "bf16" | "logq8"; InputError naming `what` otherwise.
LogitsEncoding parse_logits_encoding(const std::string& s, const std::string& what);
/// "bf16" | "dir8"; InputError naming `what` otherwise.
HiddenEncoding parse_hidden_encoding(const std::string& s, const std::string& what);

/// The µ of the dir8 µ-law compander.
constexpr double kDir8Mu = 255.0;

/// Record sizes of one cache, fixed by (vocabulary, k, hidden width, encodings).
struct CacheLayout {
  int64_t vocab_size = 0;
  int64_t top_k = 0;
  int64_t hidden_size = 0;
  LogitsEncoding logits = LogitsEncoding::kBf16;
  HiddenEncoding hidden = HiddenEncoding::kBf16;
  int rice_bits = 0;         ///< Rice parameter b of the index gaps
  int64_t index_bytes = 0;   ///< worst-case Rice-coded index set, rounded up to bytes
  int64_t value_bytes = 0;   ///< 2k (bf16) | k + 4 (logq8)
  int64_t hidden_bytes = 0;  ///< 2d (bf16) | d + 4 (dir8)
  bool multiset = false;     ///< ids may repeat (sampled logits: k draws with replacement)

  int64_t logits_bytes() const { return index_bytes + value_bytes; }
  int64_t bytes_per_token() const { return logits_bytes() + hidden_bytes; }
};

/// InputError (naming the bad quantity) unless 1 ≤ k ≤ vocab ≤ 2³¹ and 1 ≤ d ≤ 2²⁰.
/// (`multiset`: k draws with replacement, ids may repeat.)
CacheLayout make_layout(int64_t vocab_size, int64_t top_k, int64_t hidden_size, LogitsEncoding le, HiddenEncoding he,
                        bool multiset = false);

/// Smallest worst-case bit count of a Rice-coded k-subset (k-multiset) of [0, V) and its parameter.
int64_t rice_worst_bits(int64_t vocab_size, int64_t top_k, int* best_b = nullptr, bool multiset = false);

/// Writes layout.logits_bytes() bytes. `idx_K` must be k distinct ids in [0, V) (any order; a
/// multiset layout allows repeats) and `vals_K` finite; std::runtime_error otherwise (the teacher
/// produced something impossible).
void encode_logits(const CacheLayout& layout, const float* vals_K, const int64_t* idx_K, uint8_t* out);

/// Reads one logits record: ids ascending (a multiset's repeats side by side), values in the same
/// order (logq8: z − z_max).
/// Returns false when the record is malformed (gap coding overruns the record, an id ≥ V, a
/// non-finite scale): a corrupt cache, which the caller reports with the file's name.
bool decode_logits(const CacheLayout& layout, const uint8_t* in, float* vals_K, int64_t* idx_K);

/// Writes layout.hidden_bytes() bytes; `h_D` must be finite (std::runtime_error otherwise).
void encode_hidden(const CacheLayout& layout, const float* h_D, uint8_t* out);

/// Reads one hidden record; false when malformed (non-finite or negative dir8 scale).
bool decode_hidden(const CacheLayout& layout, const uint8_t* in, float* h_D);

/// bfloat16 with round-to-nearest-even (the rounding LibTorch's float → bf16 cast uses).
uint16_t float_to_bf16(float f);
float bf16_to_float(uint16_t b);

/// The checksum of cache format version 1 (four FNV-style multiply lanes over 8-byte words, then
/// the tail bytes, folded with the length): only to read caches written by older versions; new
/// caches use io::cache_checksum (teacher_cache_format.h).
uint64_t cache_checksum_v1(const void* data, size_t n);

}  // namespace hld::io
