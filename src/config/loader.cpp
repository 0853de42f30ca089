// YAML → ExperimentConfig: inheritance (`base:`), model includes, `--set` overrides, strict
// parsing and range validation. The only place that reads experiment YAML.
#include "hld/config/loader.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <sstream>
#include <type_traits>

#include "hld/config/yaml_reader.h"
#include "hld/config/enum_names.h"
#include "hld/config/hidden_pairs.h"
#include "hld/config/stop_conditions.h"
#include "hld/io/teacher_cache_codec.h"
#include "hld/spec/eval_task.h"
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
                       (b.IsMap()        ? "a mapping"
                        : b.IsSequence() ? "a nested list"
                                         : "nothing") +
                       " (in a config under '" + dir + "')");
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

std::string emit(const YAML::Node& n) {
  YAML::Emitter e;
  e << n;
  return std::string(e.c_str()) + "\n";
}

// ---- the field lists: one per section, read by Reader and written by Writer ------------------
// Every key of the config appears exactly once below; the complete YAML (every default written
// out) and the parser come from the same list, so they cannot drift apart.

const std::vector<std::pair<std::string, Objective>> kObjectives = [] {  // spec/objective.h's names
  std::vector<std::pair<std::string, Objective>> v;
  for (const auto& s : spec::registry()) v.emplace_back(s.name, s.id);
  return v;
}();
const auto& kUnits = budget_unit_names();  // config/enum_names.h
const std::vector<std::pair<std::string, std::optional<RegressorKind>>> kRegressors = [] {
  std::vector<std::pair<std::string, std::optional<RegressorKind>>> v = {{"auto", std::nullopt}};
  for (const auto& [n, e] : regressor_names()) v.emplace_back(n, e);
  return v;
}();
const auto& kDivergences = divergence_names();
const auto& kTailModes = tail_mode_names();
const auto& kTeacherLogits = teacher_logits_names();
const auto& kHiddenLosses = hidden_loss_names();
const auto& kCheckpointing = checkpointing_names();
const std::vector<std::string> kEvalTasks = [] {  // spec/eval_task.h's names
  std::vector<std::string> v;
  for (const auto& t : spec::eval_tasks()) v.emplace_back(t.name);
  return v;
}();

template <class V>
void fields(V& v, ModelConfig& m) {
  v("name", m.name);
  v("vocab_size", m.vocab_size);
  v("hidden_size", m.hidden_size);
  v("intermediate_size", m.intermediate_size);
  v("num_layers", m.num_layers);
  v("num_heads", m.num_heads);
  v("num_kv_heads", m.num_kv_heads);
  v("head_dim", m.head_dim);
  v("query_pre_attn_scalar", m.query_pre_attn_scalar);
  v("sliding_window", m.sliding_window);
  v("sliding_window_pattern", m.sliding_window_pattern);
  v.layer_types("layer_types", m.layer_types);
  v("rope_local_base", m.rope_local_base);
  v("rope_global_base", m.rope_global_base);
  v("rope_local_scaling", m.rope_local_scaling);
  v("rope_global_scaling", m.rope_global_scaling);
  v("rms_norm_eps", m.rms_norm_eps);
  v("init_std", m.init_std);
  v("max_position_embeddings", m.max_position_embeddings);
  v("bos_token_id", m.bos_token_id);
  v("eos_token_id", m.eos_token_id);
  v("pad_token_id", m.pad_token_id);
}

template <class V>
void fields(V& v, RunConfig& c) {
  v("dir", c.dir);
  v("seed", c.seed);
  v("device", c.device);
  v.choice("dtype", c.dtype, {"float32", "bfloat16"});
  v("log_every", c.log_every);
  v("checkpoint_every", c.checkpoint_every);
  v("keep_checkpoints", c.keep_checkpoints);
  v("eval_every", c.eval_every);
  v("eval_batches", c.eval_batches);
  v("threads", c.threads);
  v("peak_flops", c.peak_flops);
  v("max_bad_steps", c.max_bad_steps);
  v("check_resources", c.check_resources);
  v("zero", c.zero);
  v.named("activation_checkpointing", c.activation_checkpointing, kCheckpointing);
  v("activation_checkpointing_k", c.activation_checkpointing_k);
  v("exit_signals", c.exit_signals);
  v("time_limit", c.time_limit);
}

template <class V>
void fields(V& v, DataConfig& c) {
  v("train", c.train);
  v("valid", c.valid);
  v("tokenizer", c.tokenizer);
  v("context", c.context);
  v("batch_size", c.batch_size);
  v("grad_accum", c.grad_accum);
  v("prefetch", c.prefetch);
}

template <class V>
void fields(V& v, ObjectiveConfig& c) {
  v.named("name", c.name, kObjectives);
  v("alpha", c.alpha);
  v("temperature", c.temperature);
  v("top_k", c.top_k);
  v("gamma", c.gamma);
  v("p1", c.p1);
  v("student_layer", c.student_layer);
  v("teacher_layer", c.teacher_layer);
  v.named("regressor", c.regressor, kRegressors);
  v("regressor_expansion", c.regressor_expansion);
  v.choice("hidden_reduction", c.hidden_reduction, {"mean", "sum_dims"});
  v.named("divergence", c.divergence, kDivergences);
  v("jsd_beta", c.jsd_beta);
  v("skew", c.skew);
  v.named("tail", c.tail, kTailModes);
  v.pairs("hidden_pairs", c.hidden_pairs);
  v.choice("hidden_map", c.hidden_map, {"", "uniform"});
}

/// One entry of objective.hidden_pairs (read and written by Reader::pairs / Writer::pairs).
template <class V>
void fields(V& v, HiddenPair& p) {
  v("student", p.student);
  v("teacher", p.teacher);
  v("weight", p.weight);
  v.named("loss", p.loss, kHiddenLosses);
  v.named("regressor", p.regressor, kRegressors);
}

template <class V>
void fields(V& v, OptimConfig& c) {
  v("lr", c.lr);
  v("beta1", c.beta1);
  v("beta2", c.beta2);
  v("eps", c.eps);
  v("weight_decay", c.weight_decay);
  v("decay_norms_and_embeddings", c.decay_norms_and_embeddings);
  v("grad_clip", c.grad_clip);
}

template <class V>
void fields(V& v, ScheduleConfig& c) {
  v("warmup_steps", c.warmup_steps);
  v("decay_fraction", c.decay_fraction);
  v("final_lr_ratio", c.final_lr_ratio);
  v("hint_lr", c.hint_lr);
  v("hint_warmup_steps", c.hint_warmup_steps);
}

template <class V>
void fields(V& v, BudgetConfig& c) {
  v.named("unit", c.unit, kUnits);
  v("amount", c.amount);
  v("count_teacher", c.count_teacher);
}

template <class V>
void fields(V& v, TeacherConfig& c) {
  v.optional_section("model", c.model);
  v("checkpoint", c.checkpoint);
  v.choice("source", c.source, {"online", "cache"});
  v("cache", c.cache);
  v.choice("logits_encoding", c.logits_encoding, io::logits_encoding_names());  // io/teacher_cache_codec.h
  v.choice("hidden_encoding", c.hidden_encoding, io::hidden_encoding_names());
  v("cache_tokens", c.cache_tokens);
  v.named("logits", c.logits, kTeacherLogits);
  v("sample_seed", c.sample_seed);
  v("max_extra_vocab_mass", c.max_extra_vocab_mass);
}

template <class V>
void fields(V& v, EvalConfig& c) {
  v.string_map("tasks", c.tasks, kEvalTasks);
  v("piqa_labels", c.piqa_labels);
  v("max_examples", c.max_examples);
  v("batch_size", c.batch_size);
  v("context", c.context);
  v("checkpoint", c.checkpoint);
  v("output", c.output);
  v.choice("add_bos", c.add_bos, {"auto", "true", "false"});
  v("prefix_token", c.prefix_token);
}

template <class V>
void fields(V& v, ExperimentConfig& c) {
  v.section("run", c.run);
  v.section("model", c.model);
  v.section("data", c.data);
  v.section("objective", c.objective);
  v.section("optimizer", c.optimizer);
  v.section("schedule", c.schedule);
  v.section("budget", c.budget);
  v.section("teacher", c.teacher);
  v.section("eval", c.eval);
}

// A string value must survive being written to the run folder and read back: UTF-8 text without
// control characters other than tab.
void check_text(const std::string& s, const std::string& key) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size() && (len > 1 || c >= 0x20 || c == '\t') && c != 0x7F;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (int j = 1; ok && j < len; ++j) {
      const auto d = static_cast<unsigned char>(s[i + j]);
      ok = (d >> 6) == 0x2;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (ok && len > 1) {  // overlong forms, surrogates and values past U+10FFFF are not UTF-8
      static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (!ok)
      throw InputError(key + ": expected UTF-8 text without control characters (byte " + std::to_string(i) +
                       " is not)");
    i += static_cast<size_t>(len);
  }
}

/// Parses YAML into the structs (strict: unknown keys, wrong types and bad text are InputErrors).
class Reader {
 public:
  explicit Reader(YamlReader r) : r_(std::move(r)) {}
  void finish() { r_.finish(); }

  template <class T>
  void operator()(const std::string& k, T& out) {
    r_.get(k, out);
    if constexpr (std::is_same_v<T, std::string>) check_text(out, r_.key_path(k));
  }
  void choice(const std::string& k, std::string& out, const std::vector<std::string>& choices) {
    r_.get_choice(k, out, choices);
  }
  template <class E>
  void named(const std::string& k, E& out, const std::vector<std::pair<std::string, E>>& table) {
    std::string name;
    for (const auto& [n, e] : table)
      if (e == out) name = n;
    std::vector<std::string> choices;
    for (const auto& [n, e] : table) choices.push_back(n);
    r_.get_choice(k, name, choices);
    for (const auto& [n, e] : table)
      if (n == name) out = e;
  }
  void layer_types(const std::string& k, std::vector<AttentionType>& out) {
    std::vector<std::string> types;
    r_.get(k, types);
    if (!r_.has(k)) return;
    out.clear();
    for (const auto& t : types) {
      if (t == "sliding" || t == "sliding_attention")
        out.push_back(AttentionType::kSliding);
      else if (t == "global" || t == "full_attention")
        out.push_back(AttentionType::kGlobal);
      else
        throw InputError(r_.key_path(k) + ": '" + t + "': expected sliding or global");
    }
  }
  void string_map(const std::string& k, std::map<std::string, std::string>& out, const std::vector<std::string>& keys) {
    if (!r_.has(k)) {
      r_.child(k);
      return;
    }
    Reader sub(YamlReader(r_.child(k), r_.key_path(k)));
    for (const auto& key : keys) {
      std::string v = out.count(key) ? out[key] : "";
      sub(key, v);
      if (v.empty())
        out.erase(key);
      else
        out[key] = v;
    }
    sub.finish();
  }
  void pairs(const std::string& k, std::vector<HiddenPair>& out) {
    if (!r_.has(k)) {
      r_.child(k);
      return;
    }
    const YAML::Node seq = r_.child(k);
    if (seq.IsNull()) return;
    if (!seq.IsSequence())
      throw InputError(r_.key_path(k) + ": expected a list of {student, teacher, weight, loss, regressor}");
    out.clear();
    for (size_t i = 0; i < seq.size(); ++i) {
      HiddenPair p;
      Reader sub(YamlReader(seq[i], r_.key_path(k) + "[" + std::to_string(i) + "]"));
      if (!seq[i].IsMap()) throw InputError(r_.key_path(k) + "[" + std::to_string(i) + "]: expected a mapping");
      fields(sub, p);
      sub.finish();
      out.push_back(p);
    }
  }
  template <class S>
  void section(const std::string& k, S& s) {
    Reader sub(YamlReader(r_.child(k), r_.key_path(k)));
    fields(sub, s);
    sub.finish();
  }
  void optional_section(const std::string& k, std::optional<ModelConfig>& s) {
    if (!r_.has(k)) {
      r_.child(k);
      return;
    }
    s = parse_model(r_.child(k), r_.key_path(k));
  }

 private:
  YamlReader r_;
};

// Shortest decimal form that reads back as the same double ("0.0004", not "0.00040000000000000002").
std::string shortest(double d) {
  char buf[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  // A whole number keeps a decimal point so the YAML stays visibly a float ("1.0", "1e+06").
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

/// Writes every field into a YAML mapping, defaults included.
class Writer {
 public:
  explicit Writer(YAML::Node node) : node_(std::move(node)) {}

  void operator()(const std::string& k, const std::string& v) { node_[k] = v; }
  void operator()(const std::string& k, double v) { node_[k] = shortest(v); }
  void operator()(const std::string& k, int64_t v) { node_[k] = v; }
  void operator()(const std::string& k, uint64_t v) { node_[k] = v; }
  void operator()(const std::string& k, bool v) { node_[k] = v; }
  void choice(const std::string& k, const std::string& v, const std::vector<std::string>&) { node_[k] = v; }
  template <class E>
  void named(const std::string& k, const E& v, const std::vector<std::pair<std::string, E>>& table) {
    for (const auto& [n, e] : table)
      if (e == v) node_[k] = n;
  }
  void layer_types(const std::string& k, const std::vector<AttentionType>& v) {
    YAML::Node seq(YAML::NodeType::Sequence);
    for (auto t : v) seq.push_back(t == AttentionType::kGlobal ? "global" : "sliding");
    seq.SetStyle(YAML::EmitterStyle::Flow);
    node_[k] = seq;
  }
  void string_map(const std::string& k, const std::map<std::string, std::string>& v,
                  const std::vector<std::string>& keys) {
    YAML::Node m(YAML::NodeType::Map);
    for (const auto& key : keys) m[key] = v.count(key) ? v.at(key) : std::string();
    node_[k] = m;
  }
  void pairs(const std::string& k, std::vector<HiddenPair>& v) {
    YAML::Node seq(YAML::NodeType::Sequence);
    for (auto& p : v) {
      Writer sub{YAML::Node(YAML::NodeType::Map)};
      fields(sub, p);
      seq.push_back(sub.node_);
    }
    node_[k] = seq;
  }
  template <class S>
  void section(const std::string& k, S& s) {
    Writer sub{YAML::Node(YAML::NodeType::Map)};
    fields(sub, s);
    node_[k] = sub.node_;
  }
  void optional_section(const std::string& k, std::optional<ModelConfig>& s) {
    if (s)
      section(k, *s);
    else
      node_[k] = YAML::Node(YAML::NodeType::Null);
  }
  const YAML::Node& node() const { return node_; }

 private:
  YAML::Node node_;
};

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
  need(o.regressor_expansion > 0, "objective.regressor_expansion", o.regressor_expansion, "a positive value");
  need(o.jsd_beta >= 0 && o.jsd_beta <= 1, "objective.jsd_beta", o.jsd_beta,
       "a value in [0, 1] (0: forward KL, 1: reverse KL)");
  need(o.skew > 0 && o.skew <= 1, "objective.skew", o.skew, "a value in (0, 1] (1: forward KL)");
  if (o.tail == TailMode::kBucket && o.temperature != 1)
    e << "objective.tail = bucket: expected objective.temperature = 1 (the teacher's tail mass comes from its "
         "log-sum-exp at temperature 1, which the cache stores; objective.temperature = "
      << o.temperature << ")\n";
  if (c.teacher.logits == TeacherLogits::kSampled) {
    // The draws estimate E_{p_T}[log p_T − log p_S]: the forward KL over the full vocabulary, nothing else.
    if (o.divergence != Divergence::kForwardKl)
      e << "objective.divergence = " << to_string(o.divergence)
        << ": teacher.logits = sampled estimates the forward KL only (its draws weight log p_T - log p_S); use "
           "objective.divergence = forward_kl or teacher.logits = topk\n";
    if (o.tail == TailMode::kBucket)
      e << "objective.tail = bucket: teacher.logits = sampled has no tail (its draws cover the whole vocabulary); "
           "use objective.tail = renormalise\n";
  }
  need(o.student_layer == -1 || (o.student_layer >= 1 && o.student_layer <= c.model.num_layers),
       "objective.student_layer", double(o.student_layer), "-1 or a block index in [1, model.num_layers]");
  e << config::check_hidden_pairs(c, c.teacher.model ? c.teacher.model->num_layers : -1);
  if (c.teacher.model) {
    need(o.teacher_layer == -1 || (o.teacher_layer >= 1 && o.teacher_layer <= c.teacher.model->num_layers),
         "objective.teacher_layer", double(o.teacher_layer), "-1 or a block index in [1, teacher.model.num_layers]");
    if (c.teacher.model->vocab_size < c.model.vocab_size)  // larger: teacher/shared_vocab.h
      e << "teacher.model.vocab_size = " << c.teacher.model->vocab_size
        << ": expected at least the student's vocabulary size (model.vocab_size = " << c.model.vocab_size << ")\n";
  }
  need(c.teacher.max_extra_vocab_mass >= 0 && c.teacher.max_extra_vocab_mass <= 1, "teacher.max_extra_vocab_mass",
       c.teacher.max_extra_vocab_mass, "a probability in [0, 1]");
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
  need(s.hint_warmup_steps >= 0, "schedule.hint_warmup_steps", double(s.hint_warmup_steps), "a non-negative integer");
  const auto& d = c.data;
  need(d.context >= 1, "data.context", double(d.context), "a positive integer");
  need(d.batch_size >= 1, "data.batch_size", double(d.batch_size), "a positive integer");
  need(d.grad_accum >= 1, "data.grad_accum", double(d.grad_accum), "a positive integer");
  need(d.prefetch >= 0 && d.prefetch <= 64, "data.prefetch", double(d.prefetch), "an integer in [0, 64]");
  if (d.batch_size >= 1 && d.grad_accum >= 1 && d.batch_size % d.grad_accum != 0)
    e << "data.batch_size = " << d.batch_size << ": expected a multiple of data.grad_accum (" << d.grad_accum << ")\n";
  need(c.budget.amount > 0, "budget.amount", c.budget.amount, "a positive amount");
  need(c.run.log_every >= 1, "run.log_every", double(c.run.log_every), "a positive integer");
  need(c.run.checkpoint_every >= 0, "run.checkpoint_every", double(c.run.checkpoint_every), "a non-negative integer");
  need(c.run.keep_checkpoints >= 1, "run.keep_checkpoints", double(c.run.keep_checkpoints), "a positive integer");
  need(c.run.eval_every >= 0, "run.eval_every", double(c.run.eval_every), "a non-negative integer");
  need(c.run.threads >= 0, "run.threads", double(c.run.threads), "a non-negative integer");
  need(c.run.max_bad_steps >= 0, "run.max_bad_steps", double(c.run.max_bad_steps), "a non-negative integer");
  need(c.run.zero == 0 || c.run.zero == 1, "run.zero", double(c.run.zero),
       "0 (replicated optimizer state) or 1 (ZeRO-1: AdamW state sharded over ranks)");
  need(c.run.activation_checkpointing_k >= 1, "run.activation_checkpointing_k",
       double(c.run.activation_checkpointing_k), "a positive integer");
  // run.exit_signals, run.time_limit: their parsers name the key and what they expect.
  try {
    parse_exit_signals(c.run.exit_signals, "run.exit_signals");
  } catch (const InputError& err) {
    e << err.what() << "\n";
  }
  try {
    parse_duration_s(c.run.time_limit, "run.time_limit");
  } catch (const InputError& err) {
    e << err.what() << "\n";
  }
  need(c.eval.batch_size >= 1, "eval.batch_size", double(c.eval.batch_size), "a positive integer");
  need(c.eval.max_examples >= 0, "eval.max_examples", double(c.eval.max_examples), "a non-negative integer");
  const std::string& pt = c.eval.prefix_token;
  const bool pt_id = !pt.empty() && pt.size() <= 9 && pt.find_first_not_of("0123456789") == std::string::npos;
  if (!(pt == "auto" || pt == "bos" || pt == "eos" || pt_id))
    e << "eval.prefix_token = '" << pt << "': expected auto, bos, eos or a token id\n";
  const std::string& dev = c.run.device;
  if (!(dev == "auto" || dev == "cpu" || dev == "cuda" || dev.rfind("cuda:", 0) == 0))
    e << "run.device = '" << dev << "': expected cpu, cuda, cuda:N or auto\n";
  return e.str();
}

ExperimentConfig parse_root(YAML::Node root, const std::vector<std::string>& overrides, const std::string& dir,
                            const std::string& source) {
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw InputError(source + ": expected a YAML mapping at the top level");
  root = resolve_bases(root, dir, 0);
  resolve_model_includes(root, dir);
  for (const auto& o : overrides) apply_override(root, o);
  resolve_model_includes(root, ".");  // an override may name a model file

  ExperimentConfig c;
  c.source_path = source;
  Reader r(YamlReader(root, ""));
  fields(r, c);
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
  c.merged_yaml = std::string(out.c_str()) + "\n";
  c.resolved_yaml = to_yaml(c);
  return c;
}

}  // namespace

ModelConfig parse_model(const YAML::Node& node, const std::string& path) {
  ModelConfig m;
  Reader r(YamlReader(node, path));
  fields(r, m);
  r.finish();
  return m;
}

std::string model_to_yaml(const ModelConfig& m) {
  Writer w{YAML::Node(YAML::NodeType::Map)};
  ModelConfig copy = m;
  fields(w, copy);
  return emit(w.node());
}

std::string to_yaml(const ExperimentConfig& c) {
  Writer w{YAML::Node(YAML::NodeType::Map)};
  ExperimentConfig copy = c;
  fields(w, copy);
  return emit(w.node());
}

std::map<std::string, std::string> flatten(const ExperimentConfig& c) {
  Writer w{YAML::Node(YAML::NodeType::Map)};
  ExperimentConfig copy = c;
  fields(w, copy);
  std::map<std::string, std::string> out;
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& n, const std::string& path) {
    if (n.IsMap()) {
      for (const auto& kv : n) walk(kv.second, path.empty() ? kv.first.Scalar() : path + "." + kv.first.Scalar());
    } else if (n.IsScalar()) {
      out[path] = n.Scalar();
    } else if (n.IsNull()) {
      out[path] = "~";
    } else {
      YAML::Emitter e;
      e << YAML::Flow << n;
      out[path] = e.c_str();
    }
  };
  walk(w.node(), "");
  return out;
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) throw InputError("--set '" + assignment + "': expected key.path=value");
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
