// Wikitext for rolling-loglikelihood perplexity, as lm-evaluation-harness's `wikitext` task reads
// it: `wiki.test.raw` split into articles like the Hugging Face `EleutherAI/wikitext_document_level`
// loader, each article detokenized (tasks/wikitext/preprocess_wikitext.py) before it is scored,
// while words and bytes are counted on the original article.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hld::eval {

/// A document scored whole with rolling windows (Wikitext article, C4 document).
struct RollingDoc {
  std::string text;   ///< what the model scores (the detokenized article)
  int64_t words = 0;  ///< len(re.split(r"\s+", original)) — the harness's word count
  int64_t bytes = 0;  ///< UTF-8 bytes of the original
  int64_t line = 0;   ///< 1-based line where it starts
};

/// The article split of wikitext_document_level: lines are split on "\n"; a line whose version
/// with "= = =" → "===", "= =" → "==" and stripped starts with "= " and ends with " =" (a
/// top-level heading) starts a new article; the text gathered so far is emitted when it is not
/// only whitespace. The final article is always emitted. Articles are their lines joined by "\n".
/// `first_lines` (optional) receives the 1-based line each article starts on.
std::vector<std::string> wikitext_articles(std::string_view raw, std::vector<int64_t>* first_lines = nullptr);

/// preprocess_wikitext.wikitext_detokenizer, rule for rule (contractions, @-@ number separators,
/// spaced punctuation, whitespace inside (), [], {}, "", '' pairs, heading "= =" runs, °, spaces
/// next to newlines, " N " → " 1 ", " 's" → "'s").
std::string wikitext_detokenize(std::string_view page);

/// Reads `wiki.test.raw` (UTF-8; text-mode newlines as Python reads them) into scored documents.
/// InputError naming file and line for invalid UTF-8. `max_docs` 0: all.
std::vector<RollingDoc> read_wikitext(const std::string& path, int64_t max_docs = 0);

}  // namespace hld::eval
