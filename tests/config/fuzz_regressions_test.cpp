// Config inputs that escaped the loaders as something other than hld::InputError (found with
// fuzz/config_fuzz.cpp and while writing it): each must now be an InputError naming the key.
#include <gtest/gtest.h>

#include <string>

#include "hld/config/hf_config.h"
#include "hld/config/loader.h"
#include "hld/util/error.h"
#include "test_util.h"

namespace hld::config {
namespace {

std::string yaml_error(const std::string& yaml) {
  try {
    load_string(yaml, {}, test::repo_path("configs/quickstart"));
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << yaml;
  return "";
}

std::string hf_error(const std::string& json) {
  try {
    model_from_hf_json(json, "hf/config.json");
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << json;
  return "";
}

// `base:` that is not a path (yaml-cpp's TypedBadConversion escaped from resolve_bases).
TEST(ConfigFuzzRegressions, BaseThatIsNotAPathIsAnInputError) {
  EXPECT_NE(yaml_error("base: {a: 1}\n").find("base: expected a config path or a list of paths, got a mapping"),
            std::string::npos);
  EXPECT_NE(yaml_error("base:\n").find("base: expected a config path"), std::string::npos);
  EXPECT_NE(yaml_error("base: [base.yaml, [student.yaml]]\n").find("got a nested list"), std::string::npos);
}

// An include naming a directory (std::ios_base::failure "Is a directory" escaped from YAML::LoadFile).
TEST(ConfigFuzzRegressions, IncludeOfADirectoryIsAnInputError) {
  EXPECT_NE(yaml_error("model: .\n").find("' is a directory, expected a YAML file"), std::string::npos);
  EXPECT_NE(yaml_error("base: ../models\n").find("models' is a directory"), std::string::npos);
}

// An include name longer than the OS accepts (std::filesystem::filesystem_error "File name too long"
// escaped from fs::exists).
TEST(ConfigFuzzRegressions, IncludeNameTooLongIsAnInputError) {
  const std::string name(5000, 'm');
  EXPECT_NE(yaml_error("model: " + name + "\n").find("' does not exist (File name too long)"), std::string::npos);
  EXPECT_NE(yaml_error("base: [" + name + "]\n").find("' does not exist (File name too long)"), std::string::npos);
}

// Hugging Face config.json fields of the wrong type (nlohmann::json::type_error escaped from
// json::value()).
TEST(ConfigFuzzRegressions, HfConfigFieldsOfTheWrongTypeAreInputErrors) {
  EXPECT_NE(hf_error(R"({"model_type": 1})").find("hf/config.json: model_type = 1: expected a string"),
            std::string::npos);
  EXPECT_NE(
      hf_error(R"({"hidden_activation": ["gelu"]})").find("hidden_activation = (a JSON array): expected a string"),
      std::string::npos);
  EXPECT_NE(hf_error(R"({"_name_or_path": {}})").find("_name_or_path = (a JSON object): expected a string"),
            std::string::npos);
  EXPECT_NE(hf_error(R"({"rope_scaling": {"rope_type": 8}})").find("rope_scaling: rope_type = 8: expected a string"),
            std::string::npos);
  EXPECT_NE(hf_error(R"({"use_bidirectional_attention": "no"})")
                .find("use_bidirectional_attention = \"no\": only causal attention is supported"),
            std::string::npos);
}

// Error messages used to dump() the offending value, recursing once per nesting level.
TEST(ConfigFuzzRegressions, DeeplyNestedHfValuesAreInputErrors) {
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  EXPECT_NE(
      hf_error("{\"vocab_size\": {\"x\": " + deep + "}}").find("vocab_size = (a JSON object): expected an integer"),
      std::string::npos);
  EXPECT_NE(hf_error("{\"final_logit_softcapping\": " + deep + "}").find("soft-capping is not supported"),
            std::string::npos);
  EXPECT_NE(hf_error("{\"layer_types\": [" + deep + "]}").find("layer_types: '(a JSON array)'"), std::string::npos);
}

}  // namespace
}  // namespace hld::config
