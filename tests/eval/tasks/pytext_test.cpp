// Python str semantics used by the harness preprocessing: expected values are what CPython 3 gives.
#include <gtest/gtest.h>

#include "hld/eval/pytext.h"

namespace hld::eval {
namespace {

TEST(PyText, StripUsesUnicodeWhitespace) {
  EXPECT_EQ(py_strip("  a b \t\n"), "a b");
  EXPECT_EQ(py_strip("\xC2\xA0x\xE3\x80\x80"), "x");      // U+00A0, U+3000 are str.isspace()
  EXPECT_EQ(py_strip("\xE2\x80\x8Bx"), "\xE2\x80\x8Bx");  // U+200B (zero-width space) is not
  EXPECT_EQ(py_rstrip("  a  \n"), "  a");
  EXPECT_EQ(py_strip(""), "");
  EXPECT_EQ(py_strip(" \n "), "");
  EXPECT_EQ(py_rstrip("a\xFF\xC0\xAF  "), "a\xFF\xC0\xAF");  // bytes kept as they are
}

TEST(PyText, CapitalizeLowersTheRest) {
  EXPECT_EQ(py_capitalize("the Girl RAISES the bow"), "The girl raises the bow");
  EXPECT_EQ(py_capitalize("élan Vital"), "Élan vital");
  EXPECT_EQ(py_capitalize("ßa"), "Ssa");
  EXPECT_EQ(py_capitalize("ÀÉÎ ŁÓDŹ"), "Àéî łódź");
  EXPECT_EQ(py_capitalize("ΑΒΓ ДЖЁ"), "Αβγ джё");
  EXPECT_EQ(py_capitalize("1abc"), "1abc");
  EXPECT_EQ(py_capitalize(""), "");
}

TEST(PyText, ReplaceIsLeftToRightNonOverlapping) {
  EXPECT_EQ(py_replace("a    b", "  ", " "), "a  b");  // four spaces → two, not one
  EXPECT_EQ(py_replace("aaa", "aa", "b"), "ba");
  EXPECT_EQ(py_replace("x", "", "y"), "x");
}

TEST(PyText, LengthsAndSplits) {
  EXPECT_EQ(py_len("héllo"), 5);
  EXPECT_EQ(py_len("日本"), 2);
  // len(re.split(r"\s+", s))
  EXPECT_EQ(py_count_ws_split("a b  c"), 3);
  EXPECT_EQ(py_count_ws_split(" a b \n"), 4);  // ['', 'a', 'b', '']
  EXPECT_EQ(py_count_ws_split(""), 1);
  const auto parts = py_split("a  b", ' ');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
}

TEST(PyText, Utf8) {
  EXPECT_EQ(utf8_invalid_at("abc é 日本 😀"), std::string_view::npos);
  EXPECT_EQ(utf8_invalid_at("ab\xFF"), 2u);
  EXPECT_EQ(utf8_invalid_at("a\xC0\xAF"), 1u);      // overlong '/'
  EXPECT_EQ(utf8_invalid_at("a\xED\xA0\x80"), 1u);  // surrogate
  EXPECT_EQ(utf8_invalid_at("a\xE6\x97"), 1u);      // truncated
  EXPECT_EQ(utf8_encode(utf8_decode("é日😀")), "é日😀");
  EXPECT_EQ(universal_newlines("a\r\nb\rc\n"), "a\nb\nc\n");
}

}  // namespace
}  // namespace hld::eval
