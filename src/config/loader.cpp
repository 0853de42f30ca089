// YAML → ExperimentConfig: inheritance (`base:`), model includes, `--set` overrides, strict
// parsing and range validation. The only place that reads experiment YAML.
#include "hld/config/loader.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <sstream>

#include "hld/config/yaml_reader.h"
#include "hld/util/error.h"

namespace fs = std::filesystem;

namespace hld::config {
namespace {

YAML::Node load_yaml_file(const std::string& path) {
  std::error_code ec;  // the throwing overloads fail on names the OS refuses (too long, ...)
  if (!fs::exists(path, ec))
    throw InputError("config file '" + path + "' does not exist" + (ec ? " (" + ec.message() + ")" : ""));
  if (fs::is_directory(path, ec)) throw InputError("config file '" + path + "' is a directory, expected a YAML file");
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw InputError("config file '" + path + "': invalid YAML: " + e.what());
  } catch (const std::ios_base::failure& e) {  // yaml-cpp's stream reports read errors this way
    throw InputError("config file '" + path + "': cannot read: " + e.what());
  }
}

std::string resolve_path(const std::string& p, const std::string& base_dir) {
  std::error_code ec;  // a name the OS refuses counts as missing; load_yaml_file then says why
  if (fs::path(p).is_absolute() || fs::exists(p, ec)) return p;
  fs::path rel = fs::path(base_dir) / p;
  return fs::exists(rel, ec) ? rel.string() : p;
}

// Deep merge: `over` wins; mappings merge key by key, everything else is replaced.
YAML::Node merge(const YAML::Node& base, const YAML::Node& over) {
  if (!base || !base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  YAML::Node out = YAML::Clone(base);
  for (const auto& kv : over) {
    const std::string k = kv.first.Scalar();
    out[k] = out[k] ? merge(out[k], kv.second) : YAML::Clone(kv.second);
  }
  return out;
}

// Resolves `base:` (a path or list of paths, relative to the including file) recursively.
YAML::Node resolve_bases(YAML::Node node, const std::string& dir, int depth) {
  if (depth > 16) throw InputError("config: `base:` nesting deeper than 16 (a cycle?)");
  if (!node.IsMap() || !node["base"]) return node;
  std::vector<std::string> bases;
  auto add = [&](const YAML::Node& b) {
    if (!b.IsScalar())
      throw InputError(std::string("base: expected a config path or a list of paths, got ") +
                       (b.IsMap() ? "a mapping" : b.IsSequence() ? "a nested list" : "nothing") + " (in a config under '" +
                       dir + "')");
    bases.push_back(b.Scalar());
  };
  if (node["base"].IsSequence())
    for (const auto& b : node["base"]) add(b);
  else
    add(node["base"]);
  YAML::Node merged(YAML::NodeType::Map);
  for (const auto& b : bases) {
    const std::string p = resolve_path(b, dir);
    YAML::Node bn = resolve_bases(load_yaml_file(p), fs::path(p).parent_path().string(), depth + 1);
    merged = merge(merged, bn);
  }
  node.remove("base");
  return merge(merged, node);
}

// `model: path.yaml` and `teacher.model: path.yaml` name a model file: inline it.
void resolve_model_includes(YAML::Node& root, const std::string& dir) {
  auto inline_model = [&](YAML::Node parent, const char* key) {
    if (!parent || !parent.IsMap() || !parent[key] || !parent[key].IsScalar()) return;
    const std::string p = resolve_path(parent[key].Scalar(), dir);
    YAML::Node m = load_yaml_file(p);
    m = resolve_bases(m, fs::path(p).parent_path().string(), 0);
    parent[key] = m;
  };
  inline_model(root, "model");
  if (root["teacher"]) inline_model(root["teacher"], "model");
}

void parse_run(YamlReader r, RunConfig& c) {
  r.get("dir", c.dir);
  r.get("seed", c.seed);
  r.get("device", c.device);
  r.get_choice("dtype", c.dtype, {"float32", "bfloat16"});
  r.get("log_every", c.log_every);
  r.get("checkpoint_every", c.checkpoint_every);
  r.get("keep_checkpoints", c.keep_checkpoints);
  r.get("eval_every", c.eval_every);
  r.get("eval_batches", c.eval_batches);
  r.get("threads", c.threads);
  r.get("peak_flops", c.peak_flops);
  r.get("max_bad_steps", c.max_bad_steps);
  r.get("check_resources", c.check_resources);
  r.finish();
}

void parse_data(YamlReader r, DataConfig& c) {
  r.get("train", c.train);
  r.get("valid", c.valid);
  r.get("tokenizer", c.tokenizer);
  r.get("context", c.context);
  r.get("batch_size", c.batch_size);
  r.get("grad_accum", c.grad_accum);
  r.get("prefetch", c.prefetch);
  r.finish();
}

RegressorKind parse_regressor(const std::string& s) {
  if (s == "linear") return RegressorKind::kLinear;
  if (s == "mlp") return RegressorKind::kMlp;
  return RegressorKind::kGatedMlp;
}

void parse_objective(YamlReader r, ObjectiveConfig& c) {
  std::string name = to_string(c.name);
  r.get_choice("name", name, {"nll", "kd", "hldc", "hldf"});
  c.name = name == "nll" ? Objective::kNll
         : name == "kd"  ? Objective::kKd
         : name == "hldc" ? Objective::kHldc
                          : Objective::kHldf;
  r.get("alpha", c.alpha);
  r.get("temperature", c.temperature);
  r.get("top_k", c.top_k);
  r.get("gamma", c.gamma);
  r.get("p1", c.p1);
  r.get("student_layer", c.student_layer);
  r.get("teacher_layer", c.teacher_layer);
  if (r.has("regressor")) {
    std::string reg;
    r.get_choice("regressor", reg, {"linear", "mlp", "gated_mlp"});
    c.regressor = parse_regressor(reg);
  } else {
    r.child("regressor");
  }
  r.get("regressor_expansion", c.regressor_expansion);
  r.get_choice("hidden_reduction", c.hidden_reduction, {"mean", "sum_dims"});
  r.finish();
}

void parse_optim(YamlReader r, OptimConfig& c) {
  r.get("lr", c.lr);
  r.get("beta1", c.beta1);
  r.get("beta2", c.beta2);
  r.get("eps", c.eps);
  r.get("weight_decay", c.weight_decay);
  r.get("decay_norms_and_embeddings", c.decay_norms_and_embeddings);
  r.get("grad_clip", c.grad_clip);
  r.finish();
}

void parse_schedule(YamlReader r, ScheduleConfig& c) {
  r.get("warmup_steps", c.warmup_steps);
  r.get("decay_fraction", c.decay_fraction);
  r.get("final_lr_ratio", c.final_lr_ratio);
  r.get("hint_lr", c.hint_lr);
  r.get("hint_warmup_steps", c.hint_warmup_steps);
  r.finish();
}

void parse_budget(YamlReader r, BudgetConfig& c) {
  std::string unit = to_string(c.unit);
  r.get_choice("unit", unit, {"steps", "tokens", "flops", "ot"});
  c.unit = unit == "steps" ? BudgetUnit::kSteps
         : unit == "tokens" ? BudgetUnit::kTokens
         : unit == "flops"  ? BudgetUnit::kFlops
                            : BudgetUnit::kOt;
  r.get("amount", c.amount);
  r.get("count_teacher", c.count_teacher);
  r.finish();
}

void parse_teacher(YamlReader r, TeacherConfig& c) {
  if (r.has("model")) c.model = parse_model(r.child("model"), r.key_path("model"));
  else r.child("model");
  r.get("checkpoint", c.checkpoint);
  r.get_choice("source", c.source, {"online", "cache"});
  r.get("cache", c.cache);
  r.get_choice("logits_encoding", c.logits_encoding, {"bf16", "logq8"});
  r.get_choice("hidden_encoding", c.hidden_encoding, {"bf16", "dir8"});
  r.get("cache_tokens", c.cache_tokens);
  r.finish();
}

void parse_eval(YamlReader r, EvalConfig& c) {
  if (r.has("tasks")) {
    YamlReader tasks(r.child("tasks"), r.key_path("tasks"));
    static const std::vector<std::string> known = {"c4",   "valid_shards", "wikitext", "hellaswag",
                                                   "piqa", "arc_easy",     "winogrande", "lambada"};
    for (const auto& k : known) {
      std::string v;
      tasks.get(k, v);
      if (!v.empty()) c.tasks[k] = v;
    }
    tasks.finish();
  }
  r.get("piqa_labels", c.piqa_labels);
  r.get("max_examples", c.max_examples);
  r.get("batch_size", c.batch_size);
  r.get("context", c.context);
  r.get("checkpoint", c.checkpoint);
  r.get("output", c.output);
  r.finish();
}

std::string range_errors(const ExperimentConfig& c) {
  std::ostringstream e;
  auto need = [&](bool ok, const std::string& key, double v, const char* what) {
    if (!ok) e << key << " = " << v << ": expected " << what << "\n";
  };
  const auto& o = c.objective;
  need(o.alpha >= 0 && o.alpha <= 1, "objective.alpha", o.alpha, "a value in [0, 1]");
  need(o.temperature > 0, "objective.temperature", o.temperature, "a positive value");
  need(o.gamma >= 0, "objective.gamma", o.gamma, "a non-negative value");
  need(o.p1 > 0 && o.p1 < 1, "objective.p1", o.p1, "a fraction in (0, 1)");
  need(o.top_k >= 1 && o.top_k <= c.model.vocab_size, "objective.top_k", double(o.top_k),
       "an integer in [1, model.vocab_size]");
  need(o.regressor_expansion > 0, "objective.regressor_expansion", o.regressor_expansion,
       "a positive value");
  need(o.student_layer == -1 || (o.student_layer >= 1 && o.student_layer <= c.model.num_layers),
       "objective.student_layer", double(o.student_layer), "-1 or a block index in [1, model.num_layers]");
  if (c.teacher.model) {
    need(o.teacher_layer == -1 || (o.teacher_layer >= 1 && o.teacher_layer <= c.teacher.model->num_layers),
         "objective.teacher_layer", double(o.teacher_layer),
         "-1 or a block index in [1, teacher.model.num_layers]");
    if (c.teacher.model->vocab_size != c.model.vocab_size)
      e << "teacher.model.vocab_size = " << c.teacher.model->vocab_size
        << ": expected the student's vocabulary size (model.vocab_size = " << c.model.vocab_size << ")\n";
  }
  const auto& p = c.optimizer;
  need(p.lr > 0, "optimizer.lr", p.lr, "a positive learning rate");
  need(p.beta1 >= 0 && p.beta1 < 1, "optimizer.beta1", p.beta1, "a value in [0, 1)");
  need(p.beta2 >= 0 && p.beta2 < 1, "optimizer.beta2", p.beta2, "a value in [0, 1)");
  need(p.eps > 0, "optimizer.eps", p.eps, "a positive value");
  need(p.weight_decay >= 0, "optimizer.weight_decay", p.weight_decay, "a non-negative value");
  need(p.grad_clip >= 0, "optimizer.grad_clip", p.grad_clip, "a non-negative value (0: off)");
  const auto& s = c.schedule;
  need(s.warmup_steps >= 0, "schedule.warmup_steps", double(s.warmup_steps), "a non-negative integer");
  need(s.decay_fraction >= 0 && s.decay_fraction <= 1, "schedule.decay_fraction", s.decay_fraction,
       "a value in [0, 1]");
  need(s.final_lr_ratio >= 0 && s.final_lr_ratio <= 1, "schedule.final_lr_ratio", s.final_lr_ratio,
       "a value in [0, 1]");
  need(s.hint_lr >= 0, "schedule.hint_lr", s.hint_lr, "a non-negative value (0: optimizer.lr)");
  need(s.hint_warmup_steps >= 0, "schedule.hint_warmup_steps", double(s.hint_warmup_steps),
       "a non-negative integer");
  const auto& d = c.data;
  need(d.context >= 1, "data.context", double(d.context), "a positive integer");
  need(d.batch_size >= 1, "data.batch_size", double(d.batch_size), "a positive integer");
  need(d.grad_accum >= 1, "data.grad_accum", double(d.grad_accum), "a positive integer");
  need(d.prefetch >= 0 && d.prefetch <= 64, "data.prefetch", double(d.prefetch), "an integer in [0, 64]");
  if (d.batch_size >= 1 && d.grad_accum >= 1 && d.batch_size % d.grad_accum != 0)
    e << "data.batch_size = " << d.batch_size << ": expected a multiple of data.grad_accum ("
      << d.grad_accum << ")\n";
  need(c.budget.amount > 0, "budget.amount", c.budget.amount, "a positive amount");
  need(c.run.log_every >= 1, "run.log_every", double(c.run.log_every), "a positive integer");
  need(c.run.checkpoint_every >= 0, "run.checkpoint_every", double(c.run.checkpoint_every),
       "a non-negative integer");
  need(c.run.keep_checkpoints >= 1, "run.keep_checkpoints", double(c.run.keep_checkpoints),
       "a positive integer");
  need(c.run.eval_every >= 0, "run.eval_every", double(c.run.eval_every), "a non-negative integer");
  need(c.run.threads >= 0, "run.threads", double(c.run.threads), "a non-negative integer");
  need(c.run.max_bad_steps >= 0, "run.max_bad_steps", double(c.run.max_bad_steps), "a non-negative integer");
  need(c.eval.batch_size >= 1, "eval.batch_size", double(c.eval.batch_size), "a positive integer");
  need(c.eval.max_examples >= 0, "eval.max_examples", double(c.eval.max_examples), "a non-negative integer");
  const std::string& dev = c.run.device;
  if (!(dev == "auto" || dev == "cpu" || dev == "cuda" || dev.rfind("cuda:", 0) == 0))
    e << "run.device = '" << dev << "': expected cpu, cuda, cuda:N or auto\n";
  return e.str();
}

ExperimentConfig parse_root(YAML::Node root, const std::vector<std::string>& overrides,
                            const std::string& dir, const std::string& source) {
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw InputError(source + ": expected a YAML mapping at the top level");
  root = resolve_bases(root, dir, 0);
  resolve_model_includes(root, dir);
  for (const auto& o : overrides) apply_override(root, o);
  resolve_model_includes(root, ".");  // an override may name a model file

  ExperimentConfig c;
  c.source_path = source;
  YamlReader r(root, "");
  parse_run(YamlReader(r.child("run"), "run"), c.run);
  if (r.has("model")) c.model = parse_model(r.child("model"), "model");
  else r.child("model");
  parse_data(YamlReader(r.child("data"), "data"), c.data);
  parse_objective(YamlReader(r.child("objective"), "objective"), c.objective);
  parse_optim(YamlReader(r.child("optimizer"), "optimizer"), c.optimizer);
  parse_schedule(YamlReader(r.child("schedule"), "schedule"), c.schedule);
  parse_budget(YamlReader(r.child("budget"), "budget"), c.budget);
  parse_teacher(YamlReader(r.child("teacher"), "teacher"), c.teacher);
  parse_eval(YamlReader(r.child("eval"), "eval"), c.eval);
  r.finish();

  std::string errs = c.model.validate("model.");
  if (c.teacher.model) errs += c.teacher.model->validate("teacher.model.");
  errs += range_errors(c);
  if (!errs.empty()) {
    if (errs.back() == '\n') errs.pop_back();
    throw InputError(errs);
  }
  YAML::Emitter out;
  out << root;
  c.resolved_yaml = std::string(out.c_str()) + "\n";
  return c;
}

}  // namespace

ModelConfig parse_model(const YAML::Node& node, const std::string& path) {
  ModelConfig m;
  YamlReader r(node, path);
  r.get("name", m.name);
  r.get("vocab_size", m.vocab_size);
  r.get("hidden_size", m.hidden_size);
  r.get("intermediate_size", m.intermediate_size);
  r.get("num_layers", m.num_layers);
  r.get("num_heads", m.num_heads);
  r.get("num_kv_heads", m.num_kv_heads);
  r.get("head_dim", m.head_dim);
  r.get("query_pre_attn_scalar", m.query_pre_attn_scalar);
  r.get("sliding_window", m.sliding_window);
  r.get("sliding_window_pattern", m.sliding_window_pattern);
  std::vector<std::string> types;
  r.get("layer_types", types);
  for (const auto& t : types) {
    if (t == "sliding" || t == "sliding_attention") m.layer_types.push_back(AttentionType::kSliding);
    else if (t == "global" || t == "full_attention") m.layer_types.push_back(AttentionType::kGlobal);
    else throw InputError(r.key_path("layer_types") + ": '" + t + "': expected sliding or global");
  }
  r.get("rope_local_base", m.rope_local_base);
  r.get("rope_global_base", m.rope_global_base);
  r.get("rope_local_scaling", m.rope_local_scaling);
  r.get("rope_global_scaling", m.rope_global_scaling);
  r.get("rms_norm_eps", m.rms_norm_eps);
  r.get("max_position_embeddings", m.max_position_embeddings);
  r.get("bos_token_id", m.bos_token_id);
  r.get("eos_token_id", m.eos_token_id);
  r.get("pad_token_id", m.pad_token_id);
  r.finish();
  return m;
}

std::string model_to_yaml(const ModelConfig& m) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << m.name;
  e << YAML::Key << "vocab_size" << YAML::Value << m.vocab_size;
  e << YAML::Key << "hidden_size" << YAML::Value << m.hidden_size;
  e << YAML::Key << "intermediate_size" << YAML::Value << m.intermediate_size;
  e << YAML::Key << "num_layers" << YAML::Value << m.num_layers;
  e << YAML::Key << "num_heads" << YAML::Value << m.num_heads;
  e << YAML::Key << "num_kv_heads" << YAML::Value << m.num_kv_heads;
  e << YAML::Key << "head_dim" << YAML::Value << m.head_dim;
  e << YAML::Key << "query_pre_attn_scalar" << YAML::Value << m.query_pre_attn_scalar;
  e << YAML::Key << "sliding_window" << YAML::Value << m.sliding_window;
  e << YAML::Key << "sliding_window_pattern" << YAML::Value << m.sliding_window_pattern;
  if (!m.layer_types.empty()) {
    e << YAML::Key << "layer_types" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (auto t : m.layer_types) e << (t == AttentionType::kGlobal ? "global" : "sliding");
    e << YAML::EndSeq;
  }
  e << YAML::Key << "rope_local_base" << YAML::Value << m.rope_local_base;
  e << YAML::Key << "rope_global_base" << YAML::Value << m.rope_global_base;
  e << YAML::Key << "rope_local_scaling" << YAML::Value << m.rope_local_scaling;
  e << YAML::Key << "rope_global_scaling" << YAML::Value << m.rope_global_scaling;
  e << YAML::Key << "rms_norm_eps" << YAML::Value << m.rms_norm_eps;
  e << YAML::Key << "max_position_embeddings" << YAML::Value << m.max_position_embeddings;
  e << YAML::Key << "bos_token_id" << YAML::Value << m.bos_token_id;
  e << YAML::Key << "eos_token_id" << YAML::Value << m.eos_token_id;
  e << YAML::Key << "pad_token_id" << YAML::Value << m.pad_token_id;
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--set '" + assignment + "': expected key.path=value");
  const std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception&) {
    parsed = YAML::Node(value);
  }
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string p; std::getline(ss, p, '.');) {
    if (p.empty()) throw InputError("--set '" + assignment + "': empty key in path");
    parts.push_back(p);
  }
  // yaml-cpp nodes are handles: walk by re-binding copies to children.
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node cur = chain.back();
    if (cur[parts[i]] && !cur[parts[i]].IsMap() && !cur[parts[i]].IsNull())
      throw InputError("--set '" + assignment + "': '" + parts[i] + "' is not a mapping");
    if (!cur[parts[i]] || cur[parts[i]].IsNull()) cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    chain.push_back(cur[parts[i]]);
  }
  chain.back()[parts.back()] = parsed;
}

ExperimentConfig load(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_root(load_yaml_file(path), overrides, fs::path(path).parent_path().string(), path);
}

ExperimentConfig load_string(const std::string& yaml, const std::vector<std::string>& overrides,
                             const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw InputError(std::string("config: invalid YAML: ") + e.what());
  }
  return parse_root(root, overrides, base_dir, "<string>");
}

ModelConfig load_model(const std::string& path, const std::vector<std::string>& overrides) {
  YAML::Node root = load_yaml_file(path);
  root = resolve_bases(root, fs::path(path).parent_path().string(), 0);
  for (const auto& o : overrides) apply_override(root, o);
  ModelConfig m = parse_model(root, "");
  std::string errs = m.validate("");
  if (!errs.empty()) throw InputError(path + ": " + errs);
  return m;
}

}  // namespace hld::config
