// `hld-train info CONFIG`: model summary (layers and attention types, widths, parameter counts)
// of a model YAML or of an experiment config's student (and teacher). `--write-init DIR` writes that
// model, randomly initialised from `--seed`, as a model directory (a stand-in teacher at a real
// shape for pipeline and scale checks: scripts/scale_smoke.sh).
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <memory>

#include "hld/cli/common.h"
#include "hld/config/loader.h"
#include "hld/model/model_io.h"
#include "hld/model/transformer.h"
#include "hld/util/error.h"

namespace hld::cli {
namespace {

struct InfoArgs {
  ConfigArgs cfg;
  bool json = false;
  std::string write_init;
  uint64_t seed = 0;
};

nlohmann::json summary(const config::ModelConfig& m) {
  const auto p = config::count_params(m);
  nlohmann::json layers = nlohmann::json::array();
  for (int64_t i = 0; i < m.num_layers; ++i)
    layers.push_back(m.layer_type(i) == config::AttentionType::kGlobal ? "global" : "sliding");
  return {{"name", m.name},
          {"vocab_size", m.vocab_size},
          {"hidden_size", m.hidden_size},
          {"intermediate_size", m.intermediate_size},
          {"num_layers", m.num_layers},
          {"num_heads", m.num_heads},
          {"num_kv_heads", m.num_kv_heads},
          {"head_dim", m.head_dim},
          {"sliding_window", m.sliding_window},
          {"rope",
           {{"local_base", m.rope_local_base},
            {"global_base", m.rope_global_base},
            {"local_scaling", m.rope_local_scaling},
            {"global_scaling", m.rope_global_scaling}}},
          {"layer_types", layers},
          {"params",
           {{"total", p.total}, {"backbone", p.backbone}, {"embedding", p.embedding}, {"per_layer", p.per_layer}}}};
}

std::string grouped(int64_t v) {
  std::string s = std::to_string(v), out;
  int n = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (n && n % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++n;
  }
  return out;
}

void print_text(const char* role, const config::ModelConfig& m) {
  const auto p = config::count_params(m);
  std::printf("%s: %s\n", role, m.name.c_str());
  std::printf("  widths     d_model %lld, ffw %lld, heads %lld (kv %lld) x head_dim %lld, vocab %lld\n",
              (long long)m.hidden_size, (long long)m.intermediate_size, (long long)m.num_heads,
              (long long)m.num_kv_heads, (long long)m.head_dim, (long long)m.vocab_size);
  std::printf("  attention  sliding window %lld (RoPE base %g, x%g), global (RoPE base %g, x%g)\n",
              (long long)m.sliding_window, m.rope_local_base, m.rope_local_scaling, m.rope_global_base,
              m.rope_global_scaling);
  std::string layers;
  for (int64_t i = 0; i < m.num_layers; ++i) layers += (m.layer_type(i) == config::AttentionType::kGlobal ? 'G' : 's');
  std::printf("  layers     %lld: %s  (s sliding, G global)\n", (long long)m.num_layers, layers.c_str());
  std::printf("  params     total %s, backbone %s, embedding %s (per block %s)\n", grouped(p.total).c_str(),
              grouped(p.backbone).c_str(), grouped(p.embedding).c_str(), grouped(p.per_layer).c_str());
}

int run_info(const InfoArgs& a) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(a.cfg.path);
  } catch (const YAML::BadFile&) {
    throw InputError("config file '" + a.cfg.path + "' does not exist");
  } catch (const YAML::Exception& e) {
    throw InputError("config file '" + a.cfg.path + "': invalid YAML: " + e.what());
  }
  const bool is_model = root.IsMap() && !root["model"] && !root["run"] && !root["objective"] && !root["data"];
  nlohmann::json out;
  config::ModelConfig shape;  // the model --write-init writes
  if (is_model) {
    auto m = config::load_model(a.cfg.path, a.cfg.sets);
    shape = m;
    if (a.json)
      out = summary(m);
    else
      print_text("model", m);
  } else {
    auto c = a.cfg.load();
    shape = c.model;
    if (a.json) {
      out = summary(c.model);
      if (c.teacher.model) out["teacher"] = summary(*c.teacher.model);
    } else {
      print_text("model", c.model);
      if (c.teacher.model) print_text("teacher", *c.teacher.model);
    }
  }
  if (a.json) std::printf("%s\n", out.dump(2).c_str());
  if (!a.write_init.empty()) {
    torch::manual_seed(a.seed);
    model::Transformer m(shape);
    model::save_model_dir(m, a.write_init);
    std::fprintf(stderr, "wrote a randomly initialised %s (seed %llu) to %s\n", shape.name.c_str(),
                 static_cast<unsigned long long>(a.seed), a.write_init.c_str());
  }
  return kExitOk;
}

}  // namespace

void register_info(CLI::App& app, Action& action) {
  auto args = std::make_shared<InfoArgs>();
  auto* sub = app.add_subcommand("info", "model summary: layers, attention types, widths, parameter counts");
  add_config_args(sub, args->cfg);
  sub->add_flag("--json", args->json, "print JSON");
  sub->add_option("--write-init", args->write_init, "also write the model, randomly initialised, as a model directory");
  sub->add_option("--seed", args->seed, "--write-init: initialisation seed")->capture_default_str();
  sub->callback([&action, args] { action = [args] { return run_info(*args); }; });
}

}  // namespace hld::cli
