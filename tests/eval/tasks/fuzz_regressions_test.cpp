// Task files that took the readers quadratic time (found while writing fuzz/eval_tasks_fuzz.cpp:
// 16 000 unmatched brackets already took 4 s under the sanitizers, a 1 MiB file hours). Each is
// valid input and must now be read, unchanged, in linear time.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "eval_test_util.h"
#include "hld/eval/tasks.h"
#include "hld/eval/wikitext.h"

namespace hld::eval {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The detokenizer's "(\s*...\s*)" rules searched for the closing bracket again from every opening
// one: an article of opening brackets only was quadratic.
TEST(EvalFuzzRegressions, WikitextUnmatchedBracketsAreLinear) {
  testing::TempDir dir;
  const std::string article = " = T = \n" + std::string(1 << 20, '(') + std::string(1 << 10, '"') + "\n";
  const std::string path = testing::write_file(dir / "wiki.test.raw", article);
  const auto t0 = std::chrono::steady_clock::now();
  const auto docs = read_wikitext(path);
  EXPECT_LT(seconds_since(t0), 10.0);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_NE(docs[0].text.find(std::string(1 << 20, '(')), std::string::npos);
}

// HellaSwag's preprocess dropped "[...]" by searching for "]" from every "[" to the end of the line.
TEST(EvalFuzzRegressions, HellaswagUnmatchedBracketsAreLinear) {
  testing::TempDir dir;
  const std::string label(1 << 20, '[');
  const std::string path = testing::write_file(
      dir / "hellaswag.jsonl", R"({"activity_label": ")" + label +
                                   R"(", "ctx_a": "a", "ctx_b": "b", "endings": ["x [y]", "z"], "label": 1})" + "\n");
  const auto t0 = std::chrono::steady_clock::now();
  const ChoiceTask t = read_hellaswag(path);
  EXPECT_LT(seconds_since(t0), 10.0);
  ASSERT_EQ(t.docs.size(), 1u);
  EXPECT_EQ(t.docs[0].requests[0].context, label + ": a B");
  EXPECT_EQ(t.docs[0].choices[0], "x ");  // a matched pair is still dropped (as in Python)
}

}  // namespace
}  // namespace hld::eval
