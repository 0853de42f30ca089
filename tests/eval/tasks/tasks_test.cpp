// Task readers on the fixtures in tests/data/eval: the exact (context, continuation) strings and
// gold labels lm-evaluation-harness builds for the same items (expected strings were produced by
// the harness's own task code), and malformed files → InputError naming file and line.
#include <gtest/gtest.h>

#include "eval_test_util.h"
#include "hld/config/loader.h"
#include "hld/eval/tasks.h"

namespace hld::eval {
namespace {

using testing::expect_input_error;
using testing::fixture;
using testing::TempDir;
using testing::write_file;

TEST(HellaswagPreprocess, HarnessRules) {
  EXPECT_EQ(hellaswag_preprocess("  a [title] b  "), "a. b");
  EXPECT_EQ(hellaswag_preprocess("x [header] y [step] z"), "x y z");
  EXPECT_EQ(hellaswag_preprocess("keep [no close"), "keep [no close");
  EXPECT_EQ(hellaswag_preprocess("a [x\n] b"), "a [x\n] b");  // '.' does not match a newline
  EXPECT_EQ(hellaswag_preprocess("a    b"), "a  b");          // one pass of "  " → " "
  EXPECT_EQ(hellaswag_preprocess("end [substeps]"), "end ");  // strip happens first
}

TEST(Hellaswag, ExactQueriesAndChoices) {
  const auto t = read_hellaswag(fixture("hellaswag_val.jsonl"));
  ASSERT_EQ(t.docs.size(), 4u);
  EXPECT_TRUE(t.has_acc_norm);
  const auto& d0 = t.docs[0];
  EXPECT_EQ(d0.requests[0].context,
            "Washing a bicycle: A boy sprays water over a muddy bicycle in a driveway, and his father holds a "
            "bucket. Then");
  EXPECT_EQ(d0.requests[3].continuation, " , the boy scrubs the frame with a sponge and rinses it again.");
  EXPECT_EQ(d0.gold, 3);
  EXPECT_EQ(d0.line, 1);

  const auto& d1 = t.docs[1];  // WikiHow: [header]/[title]/[step] clean-up, empty ctx_b, label "1"
  EXPECT_EQ(d1.requests[0].context,
            "Home and Garden: How to grow a lemon tree indoors. Pick a dwarf variety. Full-size trees need more "
            "room than a pot gives.");
  const std::vector<std::string> want = {
      " Water it every hour.. Keep it in the dark.",
      "Meyer lemons stay small and fruit well in containers.. Give it plenty of light.",
      "You can buy a [unfinished bracket tree at any store.", " Prune the roots weekly. Repot it daily."};
  EXPECT_EQ(d1.choices, want);
  EXPECT_EQ(d1.requests[0].continuation, "  Water it every hour.. Keep it in the dark.");
  EXPECT_EQ(d1.gold, 1);

  EXPECT_EQ(t.docs[2].requests[1].context,
            "Playing violin: A girl stands on a stage holding a violin. The girl raises the bow and");
  EXPECT_EQ(t.docs[3].requests[0].context,
            "Café visit: Two friends sit at a small table. Élan vital is written on the cup, and they");
  for (const auto& d : t.docs) {
    ASSERT_EQ(d.requests.size(), 4u);
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(d.requests[i].continuation, " " + d.choices[i]);
  }
}

TEST(Hellaswag, MaxExamples) { EXPECT_EQ(read_hellaswag(fixture("hellaswag_val.jsonl"), 2).docs.size(), 2u); }

TEST(Piqa, TemplateAndLabels) {
  const auto t = read_piqa(fixture("piqa_valid.jsonl"), fixture("piqa_valid-labels.lst"));
  ASSERT_EQ(t.docs.size(), 3u);
  EXPECT_EQ(t.docs[0].requests[0].context, "Question: How do I keep bread fresh longer?\nAnswer:");
  EXPECT_EQ(t.docs[0].requests[1].continuation, " Store it in the oven while it is on.");
  EXPECT_EQ(t.docs[1].requests[0].context, "Question: To clean a whiteboard without spray,\nAnswer:");
  EXPECT_EQ(t.docs[0].gold, 0);
  EXPECT_EQ(t.docs[2].gold, 1);
}

TEST(Arc, LettersNumbersAndChoiceCounts) {
  const auto t = read_arc(fixture("ARC-Easy-Test.jsonl"));
  ASSERT_EQ(t.docs.size(), 4u);
  EXPECT_EQ(t.docs[0].requests[0].context, "Question: Which of these is a source of light?\nAnswer:");
  EXPECT_EQ(t.docs[0].requests[2].continuation, " the Sun");
  EXPECT_EQ(t.docs[0].gold, 2);             // answerKey C
  EXPECT_EQ(t.docs[1].gold, 0);             // answerKey "1" among labels 1-4
  EXPECT_EQ(t.docs[2].choices.size(), 3u);  // three choices
  EXPECT_EQ(t.docs[2].gold, 1);
  EXPECT_EQ(t.docs[3].choices.size(), 5u);  // A–E
  EXPECT_EQ(t.docs[3].gold, 2);
}

TEST(Arc, HuggingFaceLayout) {
  TempDir dir;
  const auto p =
      write_file(dir / "arc.jsonl",
                 R"({"id":"x","question":"Q?","choices":{"text":["a","b","c"],"label":["1","2","3"]},"answerKey":"3"})"
                 "\n");
  const auto t = read_arc(p);
  ASSERT_EQ(t.docs.size(), 1u);
  EXPECT_EQ(t.docs[0].requests[0].context, "Question: Q?\nAnswer:");
  EXPECT_EQ(t.docs[0].gold, 2);
}

TEST(Winogrande, PartialEvaluation) {
  const auto t = read_winogrande(fixture("winogrande_dev.jsonl"));
  ASSERT_EQ(t.docs.size(), 3u);
  EXPECT_FALSE(t.has_acc_norm);
  const auto& d = t.docs[0];
  EXPECT_EQ(d.requests[0].context, "Sarah was a much better surgeon than Maria so Sarah");
  EXPECT_EQ(d.requests[1].context, "Sarah was a much better surgeon than Maria so Maria");
  EXPECT_EQ(d.requests[0].continuation, " always got the harder cases.");
  EXPECT_EQ(d.requests[1].continuation, " always got the harder cases.");
  EXPECT_EQ(d.gold, 0);
  EXPECT_EQ(t.docs[1].requests[1].context, "The trophy doesn't fit into the brown suitcase because the suitcase");
  EXPECT_EQ(t.docs[1].requests[0].continuation, " is too large.");
  EXPECT_EQ(t.docs[2].gold, 1);
}

TEST(Lambada, LastWordSplit) {
  const auto docs = read_lambada(fixture("lambada_test.jsonl"));
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[1].request.context,
            "She handed him the map and pointed at the river. \"We cross here,\" she said. He folded the map and "
            "followed her to the");
  EXPECT_EQ(docs[1].request.continuation, " river");
  EXPECT_EQ(docs[0].request.continuation, " lantern");
  EXPECT_NE(docs[0].request.context.find("\n\n\"Leave it burning,\""), std::string::npos);
  // text.split(' ') keeps the empty piece of a double space: the context keeps its trailing space.
  EXPECT_EQ(docs[2].request.context, "The two  spaces before the last word make an empty piece in the ");
  EXPECT_EQ(docs[2].request.continuation, " split");
  EXPECT_EQ(lambada_request("word").context, "");
  EXPECT_EQ(lambada_request("word").continuation, " word");
}

// ---- malformed files -----------------------------------------------------------------------------

TEST(TaskErrors, MissingFieldNamesFileAndLine) {
  TempDir dir;
  const auto p =
      write_file(dir / "hs.jsonl", R"({"activity_label":"a","ctx_a":"b","ctx_b":"c","endings":["x","y"],"label":0})"
                                   "\n\n"
                                   R"({"activity_label":"a","ctx_a":"b","endings":["x","y"],"label":0})"
                                   "\n");
  expect_input_error([&] { read_hellaswag(p); }, {p + ":3", "ctx_b"});
}

TEST(TaskErrors, LabelOutOfRange) {
  TempDir dir;
  const auto hs =
      write_file(dir / "hs.jsonl", R"({"activity_label":"a","ctx_a":"b","ctx_b":"c","endings":["x","y"],"label":2})"
                                   "\n");
  expect_input_error([&] { read_hellaswag(hs); }, {hs + ":1", "label 2 is out of range"});
  const auto arc = write_file(
      dir / "arc.jsonl",
      R"({"question":{"stem":"q","choices":[{"text":"a","label":"A"},{"text":"b","label":"B"}]},"answerKey":"E"})"
      "\n");
  expect_input_error([&] { read_arc(arc); }, {arc + ":1", "answerKey 'E'"});
  const auto wg = write_file(dir / "wg.jsonl", R"({"sentence":"a _ b","option1":"x","option2":"y","answer":"3"})"
                                               "\n");
  expect_input_error([&] { read_winogrande(wg); }, {wg + ":1", "answer 3 is out of range"});
  const auto wg2 = write_file(dir / "wg2.jsonl", R"({"sentence":"no blank","option1":"x","option2":"y","answer":"1"})"
                                                 "\n");
  expect_input_error([&] { read_winogrande(wg2); }, {wg2 + ":1", "'_'"});
  const auto labels = write_file(dir / "labels.lst", "0\n7\n1\n");
  expect_input_error([&] { read_piqa(fixture("piqa_valid.jsonl"), labels); }, {labels + ":2", "expected 0 or 1"});
}

TEST(TaskErrors, PiqaLabelsShorterOrLongerThanData) {
  TempDir dir;
  const auto shorter = write_file(dir / "short.lst", "0\n1\n");
  expect_input_error([&] { read_piqa(fixture("piqa_valid.jsonl"), shorter); },
                     {shorter, "piqa_valid.jsonl:3", "shorter than the data"});
  const auto longer = write_file(dir / "long.lst", "0\n1\n1\n0\n");
  expect_input_error([&] { read_piqa(fixture("piqa_valid.jsonl"), longer); }, {longer + ":4", "has only 3"});
  // Reading only the first examples does not need the rest of the labels.
  EXPECT_EQ(read_piqa(fixture("piqa_valid.jsonl"), shorter, 2).docs.size(), 2u);
}

TEST(TaskErrors, InvalidJsonTypesAndFiles) {
  TempDir dir;
  const auto bad = write_file(dir / "bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": oops}\n");
  expect_input_error([&] { read_lambada(bad); }, {bad + ":2", "not valid JSON"});
  const auto utf = write_file(dir / "utf.jsonl", "{\"text\": \"a\xFF\"}\n");
  expect_input_error([&] { read_lambada(utf); }, {utf + ":1"});
  const auto typ = write_file(dir / "typ.jsonl", "{\"text\": 5}\n");
  expect_input_error([&] { read_lambada(typ); }, {typ + ":1", "'text'", "expected a string"});
  const auto arr = write_file(dir / "arr.jsonl", "[1, 2]\n");
  expect_input_error([&] { read_lambada(arr); }, {arr + ":1", "object"});
  const auto ends =
      write_file(dir / "ends.jsonl", R"({"activity_label":"a","ctx_a":"b","ctx_b":"c","endings":["x",3],"label":0})"
                                     "\n");
  expect_input_error([&] { read_hellaswag(ends); }, {ends + ":1", "endings"});
  expect_input_error([&] { read_hellaswag(dir / "missing.jsonl"); }, {dir / "missing.jsonl"});
}

}  // namespace
}  // namespace hld::eval

namespace hld::eval {
namespace {

TEST(EvalConfigFile, ShippedTaskConfigParses) {
  const auto c = config::load(std::string(HLD_SOURCE_DIR) + "/configs/eval/tasks.yaml", {});
  for (const char* k : {"c4", "wikitext", "hellaswag", "piqa", "arc_easy", "winogrande", "lambada"})
    EXPECT_EQ(c.eval.tasks.count(k), 1u) << k;
  EXPECT_FALSE(c.eval.piqa_labels.empty());
}

}  // namespace
}  // namespace hld::eval
