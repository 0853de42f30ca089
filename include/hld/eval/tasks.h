// Zero-shot task readers that build exactly the requests EleutherAI lm-evaluation-harness builds
// (lm_eval/tasks/{hellaswag,piqa,arc,winogrande,lambada}), from the datasets' original files.
// A request is (context, continuation): the model scores the continuation given the context.
// Malformed files throw InputError naming the file and line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hld::eval {

/// One harness loglikelihood request: log P(continuation | context).
struct TextRequest {
  std::string context;
  std::string continuation;
};

/// One multiple-choice document: a request per choice and the gold index.
struct ChoiceDoc {
  std::vector<TextRequest> requests;  ///< one per choice, in the dataset's order
  std::vector<std::string> choices;   ///< the harness's doc_to_choice strings: acc_norm divides each
                                      ///< log-likelihood by its length in characters (code points)
  int64_t gold = 0;                   ///< index of the correct choice
  int64_t line = 0;                   ///< 1-based line of the source file
};

struct ChoiceTask {
  std::string name;          ///< hellaswag | piqa | arc_easy | winogrande
  std::string path;          ///< the file the documents came from
  bool has_acc_norm = true;  ///< whether the harness's metric_list has acc_norm (not winogrande)
  std::vector<ChoiceDoc> docs;
};

/// HellaSwag `preprocess` (tasks/hellaswag/utils.py): strip, " [title]" → ". ", drop every
/// `[...]` (no newline inside, shortest match), then "  " → " " once.
std::string hellaswag_preprocess(std::string_view text);

/// HellaSwag val jsonl (`activity_label, ctx_a, ctx_b, endings, label`; HF Rowan/hellaswag has the
/// same fields). Query `preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize())`,
/// choices `preprocess(ending)`, continuation `" " + choice`. `max_docs` 0: all.
ChoiceTask read_hellaswag(const std::string& path, int64_t max_docs = 0);

/// PIQA `valid.jsonl` (`goal, sol1, sol2`) + `valid-labels.lst` (one 0/1 per line, paired in
/// order with the non-blank data lines). Context "Question: {goal}\nAnswer:", continuation
/// `" " + sol`. A labels file with fewer (or more) labels than examples is an InputError.
ChoiceTask read_piqa(const std::string& path, const std::string& labels_path, int64_t max_docs = 0);

/// ARC jsonl, either AI2's original (`question: {stem, choices: [{text, label}]}, answerKey`) or
/// Hugging Face ai2_arc's (`question` string, `choices: {text: [], label: []}`, `answerKey`).
/// Context "Question: {stem}\nAnswer:", continuation `" " + text`, gold = position of answerKey
/// among the labels (A–E or 1–5).
ChoiceTask read_arc(const std::string& path, int64_t max_docs = 0, const std::string& name = "arc_easy");

/// WinoGrande jsonl (`sentence, option1, option2, answer` "1"/"2"). Partial evaluation (the
/// harness's multiple-input mode): context i = sentence up to the first "_" + option i,
/// continuation = " " + (sentence after the "_").strip(), the same for both options.
ChoiceTask read_winogrande(const std::string& path, int64_t max_docs = 0);

/// The documents of the multiple-choice task `name` (spec/eval_task.h, kind kChoice) from `path`
/// (PIQA's labels from `piqa_labels`). The one place a task name meets its reader.
ChoiceTask read_choice_task(std::string_view name, const std::string& path, const std::string& piqa_labels,
                            int64_t max_docs = 0);

/// One LAMBADA passage: context = every space-separated word but the last joined by " ",
/// continuation = " " + last word (lambada_openai.yaml; `text.split(' ')`).
struct LambadaDoc {
  TextRequest request;
  int64_t line = 0;
};
TextRequest lambada_request(std::string_view text);
/// OpenAI `lambada_test.jsonl` / HF `lambada_test_en.jsonl` (field `text`).
std::vector<LambadaDoc> read_lambada(const std::string& path, int64_t max_docs = 0);

}  // namespace hld::eval
