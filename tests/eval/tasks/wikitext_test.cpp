// Wikitext: the article split of wikitext_document_level, the harness's detokenizer and its word
// and byte counts, on tests/data/eval/wiki.test.raw (expected values from the harness's code).
#include <gtest/gtest.h>

#include "eval_test_util.h"
#include "hld/eval/wikitext.h"

namespace hld::eval {
namespace {

using testing::expect_input_error;
using testing::fixture;
using testing::TempDir;
using testing::write_file;

TEST(Wikitext, ArticleSplit) {
  std::vector<int64_t> lines;
  const auto a = wikitext_articles(" \n = A = \n x \n = = Sub = = \n y \n = B = \n z \n", &lines);
  ASSERT_EQ(a.size(), 2u);  // the whitespace-only text before the first heading is dropped
  EXPECT_EQ(a[0], " = A = \n x \n = = Sub = = \n y ");
  EXPECT_EQ(a[1], " = B = \n z \n");  // the last article is emitted as is, trailing "" line included
  EXPECT_EQ(lines, (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(wikitext_articles("").size(), 1u);  // the harness always yields the final (empty) page
}

TEST(Wikitext, DetokenizerRules) {
  EXPECT_EQ(wikitext_detokenize("3 @,@ 412 and 19th @-@ century , 21 @.@ 5 m"), "3,412 and 19th-century, 21.5 m");
  EXPECT_EQ(wikitext_detokenize("a ( b c ) d [ e ] { f }"), "a (b c) d [e] {f}");
  EXPECT_EQ(wikitext_detokenize("\" q \" and ' r '"), "\"q\" and 'r'");
  EXPECT_EQ(wikitext_detokenize(" = = = = T = = = = "), " ==== T ==== ");
  EXPECT_EQ(wikitext_detokenize("12 \xC2\xB0 C"),
            "12\xC2\xB0"
            "C");
  EXPECT_EQ(wikitext_detokenize("in N years , the town 's"), "in 1 years, the town's");
  EXPECT_EQ(wikitext_detokenize("x /' 7/ y"), "x /'[0-9]/ y");  // the harness's literal replacement
  EXPECT_EQ(wikitext_detokenize("( open only"), "( open only");
  EXPECT_EQ(wikitext_detokenize("a \n b"), "a\nb");
}

TEST(Wikitext, FixtureDocumentsAndCounts) {
  const auto docs = read_wikitext(fixture("wiki.test.raw"));
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].line, 2);
  EXPECT_EQ(docs[0].words, 142);
  EXPECT_EQ(docs[0].bytes, 641);
  EXPECT_EQ(docs[1].words, 30);
  EXPECT_EQ(docs[1].bytes, 128);
  EXPECT_EQ(docs[1].text,
            " = Ocean Drive (song) =\n\n\"Ocean Drive\" is a song by the band The Harbourmasters. It reached number 1 "
            "on the charts.\n\n");
  EXPECT_EQ(docs[0].text,
            " = Valentine Harbour =\n\nValentine Harbour is a small port town on the north coast. It has a population "
            "of 3,412 (2011 census) and a 19th-century lighthouse that is 21.5 m tall.\nThe town's name comes from "
            "\"St Valentine\", the patron of the harbour's first chapel. The mean temperature is 12\xC2\xB0"
            "C in 1 months of the year; the rest are cold!\n\n== History ==\n\nThe first settlers arrived in 1791. "
            "They built houses of stone [see below] and a quay {later rebuilt}.\n\n=== Modern times ===\n\nFishing "
            "'declined' after 1950; tourism grew. Is that surprising? Not really: the beaches are fine.\n");
  EXPECT_EQ(read_wikitext(fixture("wiki.test.raw"), 1).size(), 1u);
}

TEST(Wikitext, InvalidUtf8NamesTheLine) {
  TempDir dir;
  const auto p = write_file(dir / "wiki.test.raw", " = A = \n ok \n bad \xC3\x28 byte \n");
  expect_input_error([&] { read_wikitext(p); }, {p + ":3", "UTF-8"});
  expect_input_error([&] { read_wikitext(dir / "none.raw"); }, {dir / "none.raw"});
}

}  // namespace
}  // namespace hld::eval
