// Piece scores rounded onto a binary grid, in the serialised ModelProto (see piece_scores.h):
// ModelProto.pieces is field 1 (a message), SentencePiece.score its field 2 (a fixed32 float);
// each score is rewritten in place, everything else is copied as it is.
#include "hld/data/piece_scores.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "protobuf's fixed32 is little-endian, read here by memcpy");

namespace hld::data {
namespace {

[[noreturn]] void malformed(const char* what) {
  throw std::runtime_error(std::string("tokenizer model: malformed protobuf (") + what + ")");
}

uint64_t varint(const std::string& b, size_t& i, size_t end) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (i >= end) malformed("truncated varint");
    const auto c = static_cast<uint8_t>(b[i++]);
    v |= static_cast<uint64_t>(c & 0x7f) << shift;
    if (!(c & 0x80)) return v;
  }
  malformed("varint longer than 10 bytes");
}

/// Skips the value of a field of wire type `wt` at i (bounded by end).
void skip(const std::string& b, size_t& i, size_t end, uint64_t wt) {
  uint64_t n = 0;
  switch (wt) {
    case 0:
      varint(b, i, end);
      return;
    case 1:
      n = 8;
      break;
    case 2:
      n = varint(b, i, end);
      break;
    case 5:
      n = 4;
      break;
    default:
      malformed("unsupported wire type");
  }
  if (n > end - i) malformed("field runs past its message");
  i += n;
}

}  // namespace

std::string snap_piece_scores(const std::string& model, int bits) {
  if (bits < 0 || bits > 20) throw std::invalid_argument("snap_piece_scores: bits outside [0, 20]");
  const double scale = std::ldexp(1.0, bits);
  std::string out = model;
  size_t i = 0;
  while (i < out.size()) {
    const uint64_t tag = varint(out, i, out.size());
    if ((tag >> 3) != 1 || (tag & 7) != 2) {
      skip(out, i, out.size(), tag & 7);
      continue;
    }
    const uint64_t n = varint(out, i, out.size());
    if (n > out.size() - i) malformed("piece runs past the model");
    const size_t end = i + n;
    while (i < end) {
      const uint64_t t = varint(out, i, end);
      if ((t >> 3) == 2 && (t & 7) == 5) {
        if (end - i < 4) malformed("truncated score");
        float f;
        std::memcpy(&f, out.data() + i, 4);  // little-endian, as the proto and this machine are
        if (std::isfinite(f)) f = static_cast<float>(std::round(double(f) * scale) / scale);
        std::memcpy(out.data() + i, &f, 4);
        i += 4;
      } else {
        skip(out, i, end, t & 7);
      }
    }
  }
  return out;
}

}  // namespace hld::data
