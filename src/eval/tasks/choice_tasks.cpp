// Multiple-choice task readers: HellaSwag, PIQA, ARC, WinoGrande, built as lm-evaluation-harness
// builds them (the rules are quoted next to each reader; see hld/eval/tasks.h).
#include <algorithm>
#include <stdexcept>

#include "hld/eval/pytext.h"
#include "hld/eval/tasks.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "jsonl.h"

namespace hld::eval {

using detail::get_index;
using detail::get_string;
using detail::get_string_list;
using detail::JsonLines;

namespace {

bool want_more(const ChoiceTask& t, int64_t max_docs) { return max_docs <= 0 || int64_t(t.docs.size()) < max_docs; }

// The harness's target_delimiter (" ") joins the context and each choice.
ChoiceDoc same_context(const std::string& context, std::vector<std::string> choices, int64_t gold, int64_t line) {
  ChoiceDoc d;
  for (const auto& c : choices) d.requests.push_back({context, " " + c});
  d.choices = std::move(choices);
  d.gold = gold;
  d.line = line;
  return d;
}

void check_gold(int64_t gold, size_t n, const std::string& where, const char* key) {
  HLD_INPUT_CHECK(gold >= 0 && gold < int64_t(n), where + ": " + key + " " + std::to_string(gold) +
                                                      " is out of range: expected 0.." +
                                                      std::to_string(int64_t(n) - 1));
}

}  // namespace

std::string hellaswag_preprocess(std::string_view text) {
  // utils.preprocess: text.strip(); replace(" [title]", ". "); re.sub("\[.*?\]", ""); replace("  ", " ")
  std::string s = py_replace(py_strip(text), " [title]", ". ");
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '[') {
      // `.` does not match a newline: the shortest "[...]" on this line, if any.
      size_t j = i + 1;
      while (j < s.size() && s[j] != ']' && s[j] != '\n') ++j;
      if (j < s.size() && s[j] == ']') {
        i = j + 1;
        continue;
      }
      // No "]" before j: no later "[" before j has one either, so [i, j) stays as it is (copying
      // it at once keeps the scan linear; searching again from every "[" is quadratic).
      out.append(s, i, j - i);
      i = j;
      continue;
    }
    out.push_back(s[i++]);
  }
  return py_replace(out, "  ", " ");
}

ChoiceTask read_hellaswag(const std::string& path, int64_t max_docs) {
  ChoiceTask t{"hellaswag", path, true, {}};
  JsonLines in(path);
  nlohmann::json r;
  int64_t line = 0;
  while (want_more(t, max_docs) && in.next(r, line)) {
    const std::string w = in.where(line);
    const std::string label = get_string(r, "activity_label", w);
    const std::string ctx_a = get_string(r, "ctx_a", w), ctx_b = get_string(r, "ctx_b", w);
    const auto endings = get_string_list(r, "endings", w, 2);
    const int64_t gold = get_index(r, "label", w);
    check_gold(gold, endings.size(), w, "label");
    // process_docs: query = preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize())
    const std::string query = hellaswag_preprocess(label + ": " + ctx_a + " " + py_capitalize(ctx_b));
    std::vector<std::string> choices;
    for (const auto& e : endings) choices.push_back(hellaswag_preprocess(e));
    t.docs.push_back(same_context(query, std::move(choices), gold, line));
  }
  return t;
}

ChoiceTask read_piqa(const std::string& path, const std::string& labels_path, int64_t max_docs) {
  HLD_INPUT_CHECK(!labels_path.empty(), "eval.piqa_labels: PIQA needs its labels file (valid-labels.lst)");
  // The labels: one "0"/"1" per non-blank line.
  struct Label {
    int64_t value, line;
  };
  std::vector<Label> labels;
  {
    const std::string text = util::read_file(labels_path);
    int64_t ln = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      const std::string s = py_strip(std::string_view(text).substr(pos, end - pos));
      pos = end + 1;
      ++ln;
      if (s.empty()) continue;
      HLD_INPUT_CHECK(s == "0" || s == "1",
                      labels_path + ":" + std::to_string(ln) + ": label '" + s + "' is out of range: expected 0 or 1");
      labels.push_back({s == "0" ? 0 : 1, ln});
    }
  }
  ChoiceTask t{"piqa", path, true, {}};
  JsonLines in(path);
  nlohmann::json r;
  int64_t line = 0;
  bool all = true;
  while (true) {
    if (!want_more(t, max_docs)) {
      all = false;
      break;
    }
    if (!in.next(r, line)) break;
    const std::string w = in.where(line);
    const std::string goal = get_string(r, "goal", w);
    std::vector<std::string> sols = {get_string(r, "sol1", w), get_string(r, "sol2", w)};
    const size_t k = t.docs.size();
    HLD_INPUT_CHECK(k < labels.size(), labels_path + ": has " + std::to_string(labels.size()) + " labels but " + w +
                                           " is example " + std::to_string(k + 1) +
                                           ": the labels file is shorter than the data");
    // piqa.yaml: doc_to_text "Question: {{goal}}\nAnswer:", doc_to_choice [sol1, sol2]
    t.docs.push_back(same_context("Question: " + goal + "\nAnswer:", std::move(sols), labels[k].value, line));
  }
  if (all)
    HLD_INPUT_CHECK(labels.size() == t.docs.size(), labels_path + ":" + std::to_string(labels[t.docs.size()].line) +
                                                        ": has " + std::to_string(labels.size()) + " labels but " +
                                                        path + " has only " + std::to_string(t.docs.size()) +
                                                        " examples");
  return t;
}

ChoiceTask read_arc(const std::string& path, int64_t max_docs, const std::string& name) {
  ChoiceTask t{name, path, true, {}};
  JsonLines in(path);
  nlohmann::json r;
  int64_t line = 0;
  while (want_more(t, max_docs) && in.next(r, line)) {
    const std::string w = in.where(line);
    auto q = r.find("question");
    HLD_INPUT_CHECK(q != r.end(), w + ": missing field 'question'");
    std::string stem;
    std::vector<std::string> texts, labels;
    if (q->is_object()) {
      // AI2's original layout, as the HF ai2_arc loader reads it: question.stem, question.choices.
      stem = get_string(*q, "stem", w + " (question)");
      auto cs = q->find("choices");
      HLD_INPUT_CHECK(cs != q->end() && cs->is_array() && cs->size() >= 2,
                      w + ": field 'question.choices' must be a list of at least 2 {text, label} objects");
      for (const auto& c : *cs) {
        HLD_INPUT_CHECK(c.is_object(), w + ": each of 'question.choices' must be a {text, label} object");
        texts.push_back(get_string(c, "text", w + " (question.choices)"));
        labels.push_back(get_string(c, "label", w + " (question.choices)"));
      }
    } else {
      // Hugging Face ai2_arc layout: question (string), choices {text: [...], label: [...]}.
      stem = get_string(r, "question", w);
      auto cs = r.find("choices");
      HLD_INPUT_CHECK(cs != r.end() && cs->is_object(),
                      w + ": missing field 'choices' (expected {text: [...], label: [...]})");
      texts = get_string_list(*cs, "text", w + " (choices)", 2);
      labels = get_string_list(*cs, "label", w + " (choices)", 2);
      HLD_INPUT_CHECK(texts.size() == labels.size(), w + ": 'choices.text' and 'choices.label' differ in length");
    }
    const std::string key = get_string(r, "answerKey", w);
    // arc_easy.yaml: doc_to_target "{{choices.label.index(answerKey)}}"
    auto it = std::find(labels.begin(), labels.end(), key);
    HLD_INPUT_CHECK(it != labels.end(), w + ": answerKey '" + key + "' is out of range: not one of the choice labels");
    t.docs.push_back(same_context("Question: " + stem + "\nAnswer:", std::move(texts), it - labels.begin(), line));
  }
  return t;
}

ChoiceTask read_winogrande(const std::string& path, int64_t max_docs) {
  ChoiceTask t{"winogrande", path, false, {}};
  JsonLines in(path);
  nlohmann::json r;
  int64_t line = 0;
  while (want_more(t, max_docs) && in.next(r, line)) {
    const std::string w = in.where(line);
    const std::string sentence = get_string(r, "sentence", w);
    const std::string opt1 = get_string(r, "option1", w), opt2 = get_string(r, "option2", w);
    // doc_to_text: {"1": 0, "2": 1}[answer]
    const int64_t answer = get_index(r, "answer", w);
    HLD_INPUT_CHECK(answer == 1 || answer == 2,
                    w + ": answer " + std::to_string(answer) + " is out of range: expected \"1\" or \"2\"");
    const size_t idx = sentence.find('_');
    HLD_INPUT_CHECK(idx != std::string::npos, w + ": field 'sentence' has no '_' blank");
    // doc_to_choice: sentence[:idx] + option; doc_to_target: sentence[idx+1:].strip(); the
    // request is (choice, target_delimiter + target).
    const std::string target = " " + py_strip(std::string_view(sentence).substr(idx + 1));
    ChoiceDoc d;
    d.choices = {sentence.substr(0, idx) + opt1, sentence.substr(0, idx) + opt2};
    for (const auto& c : d.choices) d.requests.push_back({c, target});
    d.gold = answer - 1;
    d.line = line;
    t.docs.push_back(std::move(d));
  }
  return t;
}

TextRequest lambada_request(std::string_view text) {
  // lambada_openai.yaml: "{{text.split(' ')[:-1]|join(' ')}}" and "{{' '+text.split(' ')[-1]}}"
  const size_t last = text.rfind(' ');
  if (last == std::string_view::npos) return {"", " " + std::string(text)};
  return {std::string(text.substr(0, last)), " " + std::string(text.substr(last + 1))};
}

std::vector<LambadaDoc> read_lambada(const std::string& path, int64_t max_docs) {
  std::vector<LambadaDoc> out;
  JsonLines in(path);
  nlohmann::json r;
  int64_t line = 0;
  while ((max_docs <= 0 || int64_t(out.size()) < max_docs) && in.next(r, line))
    out.push_back({lambada_request(get_string(r, "text", in.where(line))), line});
  return out;
}

ChoiceTask read_choice_task(std::string_view name, const std::string& path, const std::string& piqa_labels,
                            int64_t max_docs) {
  // The reader of each multiple-choice task of spec/eval_task.h (a test checks that none is missing).
  if (name == "hellaswag") return read_hellaswag(path, max_docs);
  if (name == "piqa") return read_piqa(path, piqa_labels, max_docs);
  if (name == "arc_easy") return read_arc(path, max_docs, "arc_easy");
  if (name == "winogrande") return read_winogrande(path, max_docs);
  throw std::logic_error("no reader for the multiple-choice task '" + std::string(name) + "'");
}

}  // namespace hld::eval
