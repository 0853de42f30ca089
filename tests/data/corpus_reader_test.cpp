// Corpus readers: C4 .json.gz counting of bad lines, strict mode, truncated/corrupt gzip, missing
// files, .txt paragraphs, custom JSON fields, UTF-8 validation, and the embedded corpus itself.
#include <gtest/gtest.h>

#include <filesystem>

#include "data_test_util.h"
#include "hld/data/corpus_reader.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::data {
namespace {

using testing::TempDir;

std::string c4_line(const std::string& text) {
  return nlohmann::json{{"text", text}, {"timestamp", "2019-04-25T12:57:54Z"}, {"url", "https://example.com/x"}}
             .dump() +
         "\n";
}

/// 5 good documents among every kind of bad line; returns the file contents.
std::string messy_c4() {
  std::string s;
  s += c4_line("First document.\nWith two lines.");             // line 1
  s += "{\"text\": \"broken json\", \"url\": \n";               // 2 malformed
  s += c4_line("Second document.");                             // 3
  s += "{\"text\": \"bad \xff\xfe bytes\", \"url\": \"u\"}\n";  // 4 invalid UTF-8
  s += c4_line("");                                             // 5 empty
  s += c4_line("  \n\t ");                                      // 6 empty (whitespace)
  s += "{\"url\": \"no text field\"}\n";                        // 7 malformed
  s += "\n";                                                    // 8 blank: ignored
  s += "[\"not\", \"an object\"]\n";                            // 9 malformed
  s += c4_line("Third: caf\u00e9 \U0001F600 \u4e2d\u6587.");    // 10
  s += "{\"text\": 42}\n";                                      // 11 malformed
  s += c4_line("Fourth document.");                             // 12
  s += c4_line("Fifth document, last line without newline.");   // 13
  s.pop_back();
  return s;
}

TEST(CorpusReader, CountsAndSkipsBadLinesInC4JsonGz) {
  TempDir tmp;
  const std::string path = tmp / "c4-train.00000-of-01024.json.gz";
  testing::write_gz(path, messy_c4());
  CorpusReader r({path});
  std::vector<Document> docs;
  Document d;
  while (r.next(d)) docs.push_back(d);
  ASSERT_EQ(docs.size(), 5u);
  EXPECT_EQ(docs[0].text, "First document.\nWith two lines.");
  EXPECT_EQ(docs[0].line, 1);
  EXPECT_EQ(docs[1].line, 3);
  EXPECT_EQ(docs[2].text, "Third: caf\u00e9 \U0001F600 \u4e2d\u6587.");
  EXPECT_EQ(docs[2].line, 10);
  EXPECT_EQ(docs[4].text, "Fifth document, last line without newline.");
  EXPECT_EQ(docs[4].source, path);
  const auto& s = r.stats();
  EXPECT_EQ(s.documents, 5);
  EXPECT_EQ(s.malformed, 4);
  EXPECT_EQ(s.invalid_utf8, 1);
  EXPECT_EQ(s.empty, 2);
  EXPECT_EQ(s.truncated_gz, 0);
  EXPECT_EQ(s.lines, 13);
  EXPECT_EQ(s.skipped(), 7);
  EXPECT_EQ(r.consumed_bytes(), r.total_bytes());
}

TEST(CorpusReader, StrictModeNamesFileAndLine) {
  TempDir tmp;
  const std::string path = tmp / "c4.json.gz";
  testing::write_gz(path, messy_c4());
  ReaderOptions o;
  o.strict = true;
  CorpusReader r({path}, o);
  Document d;
  ASSERT_TRUE(r.next(d));
  try {
    r.next(d);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos) << e.what();
  }
}

TEST(CorpusReader, TruncatedGzipIsAnErrorUnlessAllowed) {
  TempDir tmp;
  const std::string path = tmp / "big.json.gz";
  std::vector<std::string> originals;
  std::string all;
  for (int i = 0; i < 4000; ++i) {
    originals.push_back("Document number " + std::to_string(i) + " " + std::string(i % 97, 'a' + i % 26));
    all += c4_line(originals.back());
  }
  testing::write_gz(path, all);
  const std::string bytes = util::read_file(path);
  testing::write_text(path, bytes.substr(0, bytes.size() / 2));

  try {
    read_all_documents({path});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }

  ReaderOptions o;
  o.allow_truncated_gz = true;
  CorpusReader r({path}, o);
  Document d;
  size_t n = 0;
  while (r.next(d)) {
    ASSERT_LT(n, originals.size());
    EXPECT_EQ(d.text, originals[n]) << "a document of a truncated file must be complete";
    ++n;
  }
  EXPECT_GT(n, 100u);
  EXPECT_LT(n, originals.size());
  EXPECT_EQ(r.stats().truncated_gz, 1);
  EXPECT_EQ(r.stats().malformed, 0);
}

TEST(CorpusReader, CorruptGzipIsAnError) {
  TempDir tmp;
  const std::string path = tmp / "bad.jsonl.gz";
  std::string all;
  for (int i = 0; i < 2000; ++i) all += c4_line("line " + std::to_string(i * 7919));
  testing::write_gz(path, all);
  std::string bytes = util::read_file(path);
  for (size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  testing::write_text(path, bytes);
  EXPECT_THROW(read_all_documents({path}), InputError);
}

TEST(CorpusReader, MissingFileIsAnErrorNamingIt) {
  TempDir tmp;
  const std::string good = tmp / "good.jsonl", missing = tmp / "nope.json.gz";
  testing::write_text(good, c4_line("x"));
  try {
    CorpusReader r({good, missing});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  testing::write_text(tmp / "data.csv", "a,b\n");
  EXPECT_THROW(CorpusReader({tmp / "data.csv"}), InputError);
}

TEST(CorpusReader, TextFilesSplitOnBlankLines) {
  TempDir tmp;
  const std::string txt = "Para one, line one.\r\nPara one, line two.\r\n\r\n\n   \nPara two.\n\n\nPara three\n";
  testing::write_text(tmp / "a.txt", txt);
  testing::write_gz(tmp / "b.txt.gz", "Zipped para.\n\nSecond zipped \xc3\xa9.\n\nbad \xc3\x28 utf8\n");
  CorpusReader r({tmp / "a.txt", tmp / "b.txt.gz"});
  std::vector<Document> docs;
  Document d;
  while (r.next(d)) docs.push_back(d);
  ASSERT_EQ(docs.size(), 5u);
  EXPECT_EQ(docs[0].text, "Para one, line one.\nPara one, line two.");
  EXPECT_EQ(docs[1].text, "Para two.");
  EXPECT_EQ(docs[1].line, 6);
  EXPECT_EQ(docs[2].text, "Para three");
  EXPECT_EQ(docs[3].text, "Zipped para.");
  EXPECT_EQ(docs[4].text, "Second zipped \xc3\xa9.");
  EXPECT_EQ(r.stats().invalid_utf8, 1);
  EXPECT_EQ(r.stats().files, 2);
}

TEST(CorpusReader, JsonlWithCustomFieldAndLongLines) {
  TempDir tmp;
  const std::string path = tmp / "x.jsonl";
  testing::write_text(path, "{\"content\": \"short\"}\n{\"content\": \"" + std::string(500, 'z') +
                                "\"}\n{\"text\": \"wrong field\"}\n{\"content\": \"after\"}\n");
  ReaderOptions o;
  o.text_field = "content";
  o.max_line_bytes = 200;
  CorpusReader r({path}, o);
  std::vector<std::string> got;
  Document d;
  while (r.next(d)) got.push_back(d.text);
  EXPECT_EQ(got, (std::vector<std::string>{"short", "after"}));
  EXPECT_EQ(r.stats().malformed, 2);
}

TEST(CorpusReader, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong, 3 bytes
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // UTF-16 surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("abc\xe4\xb8"));       // cut short
  EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation byte
  EXPECT_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));
}

TEST(CorpusReader, EmbeddedCorpusIsCleanC4) {
  CorpusReader r({testing::embedded("train.jsonl.gz"), testing::embedded("valid.jsonl.gz")});
  Document d;
  while (r.next(d)) {
  }
  EXPECT_EQ(r.stats().documents, 9832 + 168);
  EXPECT_EQ(r.stats().skipped(), 0);
  EXPECT_GT(r.stats().bytes, 8'000'000);
}

}  // namespace
}  // namespace hld::data
