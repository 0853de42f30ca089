// Python `str` semantics over UTF-8 (see hld/eval/pytext.h): the building blocks of the harness's
// preprocessing, which is written in Python and therefore counts and strips code points.
#include "hld/eval/pytext.h"

namespace hld::eval {

namespace {

// utf8_decode, also recording the byte offset where each code point starts.
std::u32string decode_impl(std::string_view s, std::vector<size_t>* offsets) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    int n = 0;
    char32_t c = 0;
    if (b0 < 0x80) {
      n = 1, c = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      n = 2, c = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      n = 3, c = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      n = 4, c = b0 & 0x07;
    }
    bool ok = n > 0 && i + n <= s.size();
    for (int k = 1; ok && k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) ok = false;
      c = (c << 6) | (b & 0x3F);
    }
    if (offsets) offsets->push_back(i);
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(c);
    i += n;
  }
  return out;
}

}  // namespace

std::u32string utf8_decode(std::string_view s) { return decode_impl(s, nullptr); }

size_t utf8_invalid_at(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    int n;
    char32_t c, min;
    if ((b0 & 0xE0) == 0xC0) {
      n = 2, c = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      n = 3, c = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      n = 4, c = b0 & 0x07, min = 0x10000;
    } else {
      return i;
    }
    if (i + n > s.size()) return i;
    for (int k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return i;
      c = (c << 6) | (b & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string utf8_encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(char(c));
    } else if (c < 0x800) {
      out.push_back(char(0xC0 | (c >> 6)));
      out.push_back(char(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(char(0xE0 | (c >> 12)));
      out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(char(0x80 | (c & 0x3F)));
    } else {
      out.push_back(char(0xF0 | (c >> 18)));
      out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(char(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

bool py_isspace(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

namespace {

// Byte range of `s` without leading (when `left`) and trailing whitespace; the bytes themselves
// are kept as they are (the result is a substring of the input).
std::string_view strip_view(std::string_view s, bool left) {
  std::vector<size_t> off;
  const std::u32string u = decode_impl(s, &off);
  off.push_back(s.size());
  size_t b = 0, e = u.size();
  if (left)
    while (b < e && py_isspace(u[b])) ++b;
  while (e > b && py_isspace(u[e - 1])) --e;
  return s.substr(off[b], off[e] - off[b]);
}

// One-to-one lower-case mapping (0 when the code point has none in the covered blocks).
char32_t lower_of(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c >= 0x100 && c <= 0x137 && c != 0x130 && c != 0x131) return (c % 2 == 0) ? c + 1 : 0;
  if (c >= 0x139 && c <= 0x148) return (c % 2 == 1) ? c + 1 : 0;
  if (c >= 0x14A && c <= 0x177) return (c % 2 == 0) ? c + 1 : 0;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E) return (c % 2 == 1) ? c + 1 : 0;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return 0;
}

// One-to-one upper-case mapping (0 when none in the covered blocks).
char32_t upper_of(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7 && c != 0xDF) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c == 0xB5) return 0x39C;
  if (c == 0x131) return 'I';
  if (c == 0x17F) return 'S';
  if (c >= 0x100 && c <= 0x137 && c != 0x130) return (c % 2 == 1) ? c - 1 : 0;
  if (c >= 0x139 && c <= 0x148) return (c % 2 == 0) ? c - 1 : 0;
  if (c >= 0x14A && c <= 0x177) return (c % 2 == 1) ? c - 1 : 0;
  if (c >= 0x179 && c <= 0x17E) return (c % 2 == 0) ? c - 1 : 0;
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
  if (c == 0x3C2) return 0x3A3;
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 37;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 63;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return 0;
}

}  // namespace

std::string py_strip(std::string_view s) { return std::string(strip_view(s, true)); }

std::string py_rstrip(std::string_view s) { return std::string(strip_view(s, false)); }

std::string py_capitalize(std::string_view s) {
  const std::u32string u = utf8_decode(s);
  std::u32string out;
  out.reserve(u.size() + 1);
  for (size_t i = 0; i < u.size(); ++i) {
    const char32_t c = u[i];
    if (i == 0) {
      // Title case of the first character (Python >= 3.8).
      if (c == 0xDF) {
        out += U"Ss";
      } else if (c == 0x149) {
        out += U"\u02BCN";
      } else {
        const char32_t up = upper_of(c);
        out.push_back(up ? up : c);
      }
    } else if (c == 0x130) {
      out += U"i\u0307";  // İ lower-cases to i + combining dot above
    } else {
      const char32_t lo = lower_of(c);
      out.push_back(lo ? lo : c);
    }
  }
  return utf8_encode(out);
}

std::string py_replace(std::string_view s, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(s);  // the harness never replaces "" (Python would interleave)
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

int64_t py_len(std::string_view s) {
  int64_t n = 0;
  for (char ch : s)
    if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++n;
  return n;
}

std::vector<std::string> py_split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(sep, pos);
    if (hit == std::string_view::npos) break;
    out.emplace_back(s.substr(pos, hit - pos));
    pos = hit + 1;
  }
  out.emplace_back(s.substr(pos));
  return out;
}

int64_t py_count_ws_split(std::string_view s) {
  const std::u32string u = utf8_decode(s);
  int64_t runs = 0;
  bool in_ws = false;
  for (char32_t c : u) {
    const bool ws = py_isspace(c);
    if (ws && !in_ws) ++runs;
    in_ws = ws;
  }
  return runs + 1;
}

std::string universal_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace hld::eval
