// libFuzzer target: the zero-shot evaluation task readers (src/eval/tasks/choice_tasks.cpp,
// jsonl.cpp, wikitext.cpp, pytext.cpp). The first byte picks the reader (byte % 6), the rest is
// the dataset file:
//   0 ('0') hellaswag val jsonl → read_hellaswag   3 ('3') winogrande dev jsonl → read_winogrande
//   1 ('1') piqa valid.jsonl, "\n--8<--\n", then    4 ('4') lambada jsonl → read_lambada
//           valid-labels.lst → read_piqa             5 ('5') wiki.test.raw → read_wikitext
//   2 ('2') ARC jsonl (AI2 or HF layout) → read_arc
// Accepted documents must be well-formed: one request per choice (at least 2), gold in range.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "hld/eval/tasks.h"
#include "hld/eval/wikitext.h"

using namespace hld;

namespace {

void check(const eval::ChoiceTask& t) {
  for (const auto& d : t.docs) {
    if (d.choices.size() < 2 || d.requests.size() != d.choices.size()) fuzz::finding(t.name + ": bad choice count");
    if (d.gold < 0 || d.gold >= static_cast<int64_t>(d.choices.size())) fuzz::finding(t.name + ": gold out of range");
    if (d.line < 1) fuzz::finding(t.name + ": line number below 1");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const unsigned kind = data[0] % 6;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string path = fuzz::scratch_path("task.jsonl"), labels = fuzz::scratch_path("labels.lst");
  if (kind == 1) {
    const auto parts = fuzz::split_files(rest, 2);
    fuzz::write_bytes(path, parts[0]);
    fuzz::write_bytes(labels, parts[1]);
  } else {
    fuzz::write_bytes(path, rest);
  }
  fuzz::expect_only_input_errors([&] {
    switch (kind) {
      case 0:
        check(eval::read_hellaswag(path));
        break;
      case 1:
        check(eval::read_piqa(path, labels));
        break;
      case 2:
        check(eval::read_arc(path));
        break;
      case 3:
        check(eval::read_winogrande(path));
        break;
      case 4:
        eval::read_lambada(path);
        break;
      default:
        for (const auto& d : eval::read_wikitext(path))
          if (d.words < 1 || d.bytes < 0 || d.line < 1) fuzz::finding("wikitext: bad document counts");
        break;
    }
  });
  return 0;
}
