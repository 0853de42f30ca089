// Reading run folders into RunRecords and grouping them into hyper-parameter points.
#include "hld/report/runs.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>
#include <tuple>

#include "hld/config/experiment.h"
#include "hld/config/loader.h"
#include "hld/report/metrics.h"
#include "hld/report/table.h"
#include "hld/spec/objective.h"
#include "hld/util/error.h"
#include "hld/util/format.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::report {
namespace {

// True when `root` has every key of the complete config `c` (what runs write since configs are
// complete); older run folders wrote the YAML as given.
bool has_every_key(const YAML::Node& root, const config::ExperimentConfig& c) {
  for (const auto& kv : config::flatten(c)) {
    YAML::Node n = root;
    std::stringstream path(kv.first);
    for (std::string part; std::getline(path, part, '.');) {
      if (!n.IsMap() || !n[part]) return false;
      n.reset(n[part]);  // rebind (assignment would overwrite the node)
    }
  }
  return true;
}

// The run's config through the one config loader: a complete config reads as written; an older
// one gets today's defaults for what it left out (said once per report).
void read_config(const std::string& text, const std::string& file, const std::string& base_dir, RunRecord& r) {
  config::ExperimentConfig c;
  try {
    c = config::load_string(text, {}, base_dir);
  } catch (const InputError& e) {
    throw InputError(file + ": " + e.what());
  }
  static bool warned = false;
  if (!warned && !has_every_key(YAML::Load(text), c)) {
    warned = true;
    spdlog::warn(
        "{}: written by an older hld-train (config without its defaults); the keys it left out take "
        "today's defaults (and so may other such run folders)",
        file);
  }
  r.method = config::to_string(c.objective.name);
  r.alpha = c.objective.alpha;
  r.temperature = c.objective.temperature;
  r.gamma = c.objective.gamma;
  r.p1 = c.objective.p1;
  r.lr = c.optimizer.lr;
  r.seed = c.run.seed;
  r.model = c.model.name;
  r.variant = config::variant_label(c);
  if (c.needs_teacher()) {
    r.teacher_checkpoint = c.teacher.checkpoint;
    r.teacher_source = c.teacher.source;
    r.teacher_cache = c.teacher.cache;
    r.teacher_counted = c.budget.count_teacher;
  }
}

YAML::Node parse_yaml(const std::string& text, const std::string& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(file + ": invalid YAML: " + e.what());
  }
}

}  // namespace

double canon(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  return std::strtod(util::format_g(v).c_str(), nullptr);
}

RunRecord load_run(const std::string& dir) {
  RunRecord r;
  r.dir = dir;
  const std::string cfg_path = (fs::path(dir) / "config.yaml").string();
  const std::string eval_path = (fs::path(dir) / "eval.json").string();
  const bool has_cfg = fs::exists(cfg_path), has_eval = fs::exists(eval_path);
  HLD_INPUT_CHECK(has_cfg || has_eval, "run folder '" + dir + "': neither config.yaml nor eval.json found");

  nlohmann::json eval;
  if (has_eval) {
    try {
      eval = nlohmann::json::parse(util::read_file(eval_path));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(eval_path + ": invalid JSON: " + e.what());
    }
    HLD_INPUT_CHECK(eval.is_object(), eval_path + ": expected a JSON object");
    r.finished = true;
    r.metrics = extract_metrics(eval);
    r.flops = extract_number(eval, {"flops", "flops_spent", "train.flops", "training.flops", "trained.flops",
                                    "budget.flops_spent", "budget.flops"});
    r.tokens = extract_number(eval, {"tokens", "tokens_spent", "train.tokens", "training.tokens", "trained.tokens"});
  }
  if (has_cfg) {
    const std::string text = util::read_file(cfg_path);
    parse_yaml(text, cfg_path);  // a YAML error names the file
    read_config(text, cfg_path, dir, r);
  } else {
    const auto it = eval.find("config");
    HLD_INPUT_CHECK(it != eval.end() && (it->is_object() || it->is_string()),
                    "run folder '" + dir + "': no config.yaml and eval.json has no `config`");
    // JSON is YAML: an embedded object parses the same way as the YAML file would. A string is
    // either the config's path (what `hld-train eval` records) or its YAML text.
    std::string text = it->is_string() ? it->get<std::string>() : it->dump();
    std::string where = eval_path + " (config)", base = dir;
    if (it->is_string() && text.find('\n') == std::string::npos && fs::is_regular_file(text)) {
      where = text;
      base = fs::path(text).parent_path().string();
      text = util::read_file(text);
    }
    parse_yaml(text, where);
    read_config(text, where, base, r);
  }
  if (r.model.empty()) r.model = config::ModelConfig{}.name;
  return r;
}

std::vector<std::string> find_run_dirs(const std::vector<std::string>& roots) {
  std::vector<std::string> out;
  auto is_run = [](const fs::path& p) { return fs::exists(p / "config.yaml") || fs::exists(p / "eval.json"); };
  std::function<void(const fs::path&, int)> walk = [&](const fs::path& p, int depth) {
    if (is_run(p)) {
      out.push_back(p.string());
      return;
    }
    if (depth >= 4) return;
    std::vector<fs::path> subs;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(p, ec))
      if (e.is_directory() && e.path().filename().string().rfind('.', 0) != 0) subs.push_back(e.path());
    std::sort(subs.begin(), subs.end());
    for (const auto& s : subs) walk(s, depth + 1);
  };
  for (const auto& root : roots) {
    HLD_INPUT_CHECK(fs::is_directory(root), "run folder '" + root + "' does not exist or is not a directory");
    const size_t before = out.size();
    walk(fs::path(root), 0);
    HLD_INPUT_CHECK(out.size() > before,
                    "'" + root + "': no run folder (with config.yaml or eval.json) in it or below it");
  }
  return out;
}

std::string method_label(const std::string& m) {
  if (const auto* s = spec::find(m)) return s->label;
  return m == kTeacherMethod ? "Teacher" : m;
}

std::string point_label(const PointKey& k) {
  return method_label(k.method) + (k.variant.empty() ? "" : " [" + k.variant + "]");
}

std::string point_id(const PointKey& k) { return k.method + (k.variant.empty() ? "" : "[" + k.variant + "]"); }

int method_rank(const std::string& m) {
  if (m == kTeacherMethod) return 0;
  const auto& all = spec::registry();
  for (size_t i = 0; i < all.size(); ++i)
    if (m == all[i].name) return static_cast<int>(i) + 1;
  return static_cast<int>(all.size()) + 1;
}

bool has_hparam(const std::string& method, spec::Hparam h) {
  const auto* s = spec::find(method);
  return s && s->has(h);
}

bool distills(const std::string& method) {
  const auto* s = spec::find(method);
  return s && s->reads_teacher();
}

bool is_baseline_reference(const std::string& method) {
  const auto* s = spec::find(method);
  return s && !s->reference;
}

std::optional<std::string> reference_of(const PointKey& k) {
  const auto* s = spec::find(k.method);
  if (!s) return std::nullopt;
  const auto ref = k.variant.empty() ? s->reference : s->variant_reference;
  if (!ref) return std::nullopt;
  return std::string(spec::of(*ref).name);
}

namespace {
auto tie_key(const PointKey& k) {
  return std::make_tuple(k.model, method_rank(k.method), k.method, k.variant, k.lr, k.alpha, k.temperature, k.gamma,
                         k.p1);
}
}  // namespace

bool PointKey::operator<(const PointKey& o) const { return tie_key(*this) < tie_key(o); }
bool PointKey::operator==(const PointKey& o) const { return tie_key(*this) == tie_key(o); }

bool shares_hparams(const PointKey& m, const PointKey& ref) {
  if (m.model != ref.model || m.lr != ref.lr || !ref.variant.empty()) return false;
  auto both = [&](spec::Hparam h) { return has_hparam(m.method, h) && has_hparam(ref.method, h); };
  return (!both(spec::kAlpha) || m.alpha == ref.alpha) &&
         (!both(spec::kTemperature) || m.temperature == ref.temperature) &&
         (!both(spec::kGamma) || m.gamma == ref.gamma) && (!both(spec::kP1) || m.p1 == ref.p1);
}

PointKey point_key(const RunRecord& r) {
  PointKey k;
  k.model = r.model;
  k.method = r.method;
  if (r.method == kTeacherMethod) return k;
  k.variant = r.variant;
  k.lr = canon(r.lr);
  if (has_hparam(r.method, spec::kAlpha)) k.alpha = canon(r.alpha);
  if (has_hparam(r.method, spec::kTemperature)) k.temperature = canon(r.temperature);
  if (has_hparam(r.method, spec::kGamma)) k.gamma = canon(r.gamma);
  if (has_hparam(r.method, spec::kP1)) k.p1 = canon(r.p1);
  return k;
}

std::vector<Point> group_points(const std::vector<RunRecord>& runs) {
  std::map<PointKey, Point> by_key;
  for (const auto& r : runs) {
    Point& p = by_key[point_key(r)];
    p.key = point_key(r);
    p.runs.push_back(&r);
  }
  std::vector<Point> out;
  for (auto& [key, p] : by_key) {
    std::stable_sort(p.runs.begin(), p.runs.end(),
                     [](const RunRecord* a, const RunRecord* b) { return a->seed < b->seed; });
    std::map<std::string, double> sum;
    double flops_sum = 0;
    int flops_n = 0;
    for (const RunRecord* r : p.runs) {
      for (const auto& [id, v] : r->metrics) {
        sum[id] += v;
        p.count[id] += 1;
      }
      if (r->flops) {
        flops_sum += *r->flops;
        ++flops_n;
      }
    }
    for (const auto& [id, s] : sum) p.mean[id] = s / p.count[id];
    if (flops_n) p.flops = flops_sum / flops_n;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace hld::report
