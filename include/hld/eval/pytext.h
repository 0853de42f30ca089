// Python `str` semantics that lm-evaluation-harness's preprocessing relies on, re-implemented over
// UTF-8 so the C++ tasks build byte-identical strings: whitespace as `str.isspace()` / regex `\s`
// sees it, `strip`, `capitalize`, `replace`, `len` (code points) and `len(re.split(r"\s+", s))`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hld::eval {

/// UTF-8 → code points. Invalid bytes decode to U+FFFD one byte at a time (inputs are validated
/// before they get here; this only keeps hostile bytes from crashing anything).
std::u32string utf8_decode(std::string_view s);
/// Byte offset of the first byte that is not well-formed UTF-8 (overlong forms, surrogates and
/// code points past U+10FFFF included), or std::string_view::npos when `s` is valid.
size_t utf8_invalid_at(std::string_view s);
/// Code points → UTF-8.
std::string utf8_encode(std::u32string_view s);

/// Python's `str.isspace()` for one code point, which is also what `\s` matches in `re` (str
/// patterns): ASCII \t\n\v\f\r, U+001C–U+001F, space, U+0085, U+00A0, U+1680, U+2000–U+200A,
/// U+2028, U+2029, U+202F, U+205F, U+3000.
bool py_isspace(char32_t c);

/// `s.strip()` / `s.rstrip()` with no argument (Unicode whitespace as above).
std::string py_strip(std::string_view s);
std::string py_rstrip(std::string_view s);

/// `s.capitalize()`: first character upper (title) case, the rest lower case. Case mapping covers
/// ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic (one-to-one mappings, plus ß → "Ss" when
/// first); other scripts, and Greek's context-dependent final sigma, are left unchanged.
std::string py_capitalize(std::string_view s);

/// `s.replace(from, to)`: every non-overlapping occurrence, scanning left to right.
std::string py_replace(std::string_view s, std::string_view from, std::string_view to);

/// `len(s)`: the number of code points.
int64_t py_len(std::string_view s);

/// `s.split(sep)` for a one-character separator (keeps empty pieces, as Python does).
std::vector<std::string> py_split(std::string_view s, char sep);

/// `len(re.split(r"\s+", s))`: one more than the number of maximal whitespace runs.
int64_t py_count_ws_split(std::string_view s);

/// Python's text-mode newline translation (universal newlines): "\r\n" and lone "\r" become "\n".
std::string universal_newlines(std::string_view s);

}  // namespace hld::eval
