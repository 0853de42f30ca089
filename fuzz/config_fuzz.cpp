// libFuzzer target: feeds each input, as the text of an experiment config file, to
// hld::config::load_string (src/config/loader.cpp: YAML, `base:` inheritance and model includes
// resolved against configs/quickstart/, strict parsing, validation), with every line
// "#set KEY=VALUE" (a YAML comment) also passed as a `--set KEY=VALUE` override; and the same
// bytes, as a Hugging Face config.json, to hld::config::model_from_hf_json (src/config/hf_config.cpp).
// Paths the user names are trusted, their contents are not: inputs naming /dev, /proc or /sys
// (an include of /dev/zero would read forever) are skipped.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "hld/config/hf_config.h"
#include "hld/config/loader.h"

using namespace hld;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* dev : {"/dev", "/proc", "/sys"})
    if (text.find(dev) != std::string::npos) return 0;
  std::vector<std::string> overrides;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    if (line.substr(0, 5) == "#set ") overrides.emplace_back(line.substr(5));
    pos = end + 1;
  }
  static const std::string base_dir = std::string(HLD_SOURCE_DIR) + "/configs/quickstart";
  fuzz::expect_only_input_errors([&] {
    const config::ExperimentConfig c = config::load_string(text, overrides, base_dir);
    // An accepted config's resolved YAML is what runs record: it must load again by itself.
    try {
      const config::ExperimentConfig back = config::load_string(c.resolved_yaml, {}, base_dir);
      if (back.resolved_yaml != c.resolved_yaml)
        fuzz::finding("resolved YAML of an accepted config loads back to another config:\n" + c.resolved_yaml +
                      "---\n" + back.resolved_yaml);
    } catch (const InputError& e) {
      fuzz::finding(std::string("resolved YAML of an accepted config is rejected: ") + e.what());
    }
  });
  fuzz::expect_only_input_errors([&] { config::model_from_hf_json(text, "fuzz/config.json"); });
  return 0;
}
