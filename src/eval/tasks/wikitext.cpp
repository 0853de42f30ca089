// Wikitext articles, detokenizer and word/byte counts as lm-evaluation-harness's `wikitext` task
// computes them (see hld/eval/wikitext.h for the rules).
#include "hld/eval/wikitext.h"

#include <algorithm>

#include "hld/eval/pytext.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::eval {

namespace {

// Python re.sub(r"OPEN\s*([^CLOSE]*?)\s*CLOSE", r"OPEN\1CLOSE"): each OPEN with a later CLOSE
// (the first one after it) gets the whitespace just inside both ends removed; scanning resumes
// after that CLOSE. An OPEN with no CLOSE after it is left alone.
std::u32string tighten_pairs(const std::u32string& s, char32_t open, char32_t close) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == open) {
      const size_t j = s.find(close, i + 1);
      if (j != std::u32string::npos) {
        size_t b = i + 1, e = j;
        while (b < e && py_isspace(s[b])) ++b;
        while (e > b && py_isspace(s[e - 1])) --e;
        out.push_back(open);
        out.append(s, b, e - b);
        out.push_back(close);
        i = j + 1;
        continue;
      }
      // No CLOSE after this OPEN, so none after any later one either: the rest stays as it is
      // (stopping here keeps the scan linear; searching again from every OPEN is quadratic).
      out.append(s, i, std::u32string::npos);
      break;
    }
    out.push_back(s[i++]);
  }
  return out;
}

// re.sub(r"/' [0-9]/", r"/'[0-9]/", s): the replacement is the literal text "/'[0-9]/".
std::string slash_quote_digit(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (i + 5 <= s.size() && s.compare(i, 3, "/' ") == 0 && s[i + 3] >= '0' && s[i + 3] <= '9' && s[i + 4] == '/') {
      out += "/'[0-9]/";
      i += 5;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

}  // namespace

std::string wikitext_detokenize(std::string_view page) {
  std::string s(page);
  // contractions
  s = py_replace(s, "s '", "s'");
  s = slash_quote_digit(s);
  // number separators
  s = py_replace(s, " @-@ ", "-");
  s = py_replace(s, " @,@ ", ",");
  s = py_replace(s, " @.@ ", ".");
  // punctuation
  for (const char* p : {" : ", " ; ", " . ", " ! ", " ? ", " , "}) {
    const std::string from(p);
    s = py_replace(s, from, from.substr(1));
  }
  // brackets and quotes, in the harness's order
  std::u32string u = utf8_decode(s);
  u = tighten_pairs(u, U'(', U')');
  u = tighten_pairs(u, U'[', U']');
  u = tighten_pairs(u, U'{', U'}');
  u = tighten_pairs(u, U'"', U'"');
  u = tighten_pairs(u, U'\'', U'\'');
  s = utf8_encode(u);
  // miscellaneous
  s = py_replace(s, "= = = =", "====");
  s = py_replace(s, "= = =", "===");
  s = py_replace(s, "= =", "==");
  s = py_replace(s, " \xC2\xB0 ", "\xC2\xB0");  // chr(176), the degree sign
  s = py_replace(s, " \n", "\n");
  s = py_replace(s, "\n ", "\n");
  s = py_replace(s, " N ", " 1 ");
  s = py_replace(s, " 's", "'s");
  return s;
}

std::vector<std::string> wikitext_articles(std::string_view raw, std::vector<int64_t>* first_lines) {
  std::vector<std::string> out;
  std::string page;         // "\n".join(ret)
  bool have_lines = false;  // ret is non-empty
  int64_t line = 0, page_start = 1;
  auto emit = [&](bool always) {
    if (always || !py_strip(page).empty()) {
      out.push_back(page);
      if (first_lines) first_lines->push_back(page_start);
    }
  };
  size_t pos = 0;
  while (true) {
    size_t end = raw.find('\n', pos);
    const bool last = end == std::string_view::npos;
    if (last) end = raw.size();
    const std::string_view ln = raw.substr(pos, end - pos);
    ++line;
    const std::string r = py_strip(py_replace(py_replace(ln, "= = =", "==="), "= =", "=="));
    const bool heading = r.size() >= 2 && r.compare(0, 2, "= ") == 0 && r.compare(r.size() - 2, 2, " =") == 0;
    if (heading) {
      emit(false);
      page.clear();
      have_lines = false;
      page_start = line;
    }
    if (have_lines) page.push_back('\n');
    page.append(ln);
    have_lines = true;
    if (last) break;
    pos = end + 1;
  }
  emit(true);
  return out;
}

std::vector<RollingDoc> read_wikitext(const std::string& path, int64_t max_docs) {
  const std::string raw = universal_newlines(util::read_file(path));
  // Python's utf-8 decoding would refuse the file: name the line of the first bad byte.
  const size_t bad = utf8_invalid_at(raw);
  if (bad != std::string::npos) {
    const int64_t line = 1 + std::count(raw.begin(), raw.begin() + bad, '\n');
    throw InputError(path + ":" + std::to_string(line) + ": not valid UTF-8");
  }
  std::vector<int64_t> starts;
  const auto pages = wikitext_articles(raw, &starts);
  std::vector<RollingDoc> docs;
  for (size_t k = 0; k < pages.size(); ++k) {
    if (max_docs > 0 && int64_t(docs.size()) >= max_docs) break;
    docs.push_back({wikitext_detokenize(pages[k]), py_count_ws_split(pages[k]), int64_t(pages[k].size()), starts[k]});
  }
  return docs;
}

}  // namespace hld::eval
