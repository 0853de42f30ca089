// The torch-free evaluation driver: task files → token requests → Scorer → harness metrics
// (see hld/eval/harness.h).
#include "hld/eval/harness.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "hld/data/batch_stream.h"
#include "hld/data/corpus_reader.h"
#include "hld/eval/pytext.h"
#include "hld/util/error.h"
#include "hld/spec/eval_task.h"

namespace hld::eval {

std::vector<ScoreResult> score_requests(Scorer& scorer, const std::vector<TokenRequest>& requests,
                                        const std::string& label) {
  std::vector<ScoreResult> out(requests.size());
  std::vector<TokenRequest> todo;
  std::vector<size_t> where;
  int64_t empty = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    if (r.continuation.empty()) {
      out[i] = {0.0, true};
      ++empty;
      continue;
    }
    HLD_INPUT_CHECK(int64_t(r.continuation.size()) <= scorer.max_length(),
                    label + ": a continuation of " + std::to_string(r.continuation.size()) +
                        " tokens is longer than the scoring window eval.context = " +
                        std::to_string(scorer.max_length()) + "; raise eval.context");
    todo.push_back(r);
    where.push_back(i);
  }
  if (empty > 0)
    spdlog::warn("{}: {} request(s) have an empty continuation after tokenisation; scored as log-likelihood 0", label,
                 empty);
  if (!todo.empty()) {
    const auto got = scorer.score(todo, label);
    if (got.size() != todo.size()) throw std::runtime_error("[score_requests] scorer returned the wrong count");
    for (size_t k = 0; k < got.size(); ++k) out[where[k]] = got[k];
  }
  return out;
}

nlohmann::json evaluate_choice(Scorer& scorer, const TextEncoder& enc, const ChoiceTask& task,
                               const HarnessOptions& opts) {
  HLD_INPUT_CHECK(!task.docs.empty(), task.path + ": no examples for " + task.name);
  std::vector<TokenRequest> reqs;
  for (const auto& d : task.docs)
    for (const auto& r : d.requests)
      reqs.push_back(encode_request(enc, r, opts.prefix_token, opts.add_bos ? opts.bos_token : -1));
  const auto res = score_requests(scorer, reqs, task.name);
  std::vector<double> acc, acc_norm;
  size_t k = 0;
  for (const auto& d : task.docs) {
    std::vector<double> lls;
    for (size_t c = 0; c < d.requests.size(); ++c) lls.push_back(res[k++].logprob);
    const auto o = choice_outcome(d, lls);
    acc.push_back(o.acc ? 1.0 : 0.0);
    acc_norm.push_back(o.acc_norm ? 1.0 : 0.0);
  }
  const auto a = mean_stderr(acc);
  nlohmann::json j = {{"acc", a.mean}, {"acc_stderr", a.se}};
  if (task.has_acc_norm) {
    const auto n = mean_stderr(acc_norm);
    j["acc_norm"] = n.mean;
    j["acc_norm_stderr"] = n.se;
  }
  j["error"] = 1.0 - a.mean;
  j["examples"] = int64_t(task.docs.size());
  j["requests"] = int64_t(reqs.size());
  j["file"] = task.path;
  return j;
}

nlohmann::json evaluate_lambada(Scorer& scorer, const TextEncoder& enc, const std::vector<LambadaDoc>& docs,
                                const std::string& path, const HarnessOptions& opts) {
  HLD_INPUT_CHECK(!docs.empty(), path + ": no examples for lambada");
  std::vector<TokenRequest> reqs;
  int64_t tokens = 0;
  for (const auto& d : docs) {
    reqs.push_back(encode_request(enc, d.request, opts.prefix_token, opts.add_bos ? opts.bos_token : -1));
    tokens += int64_t(reqs.back().continuation.size());
  }
  const auto res = score_requests(scorer, reqs, "lambada");
  std::vector<double> acc;
  double sum_ll = 0;
  for (const auto& r : res) {
    acc.push_back(r.greedy ? 1.0 : 0.0);
    sum_ll += r.logprob;
  }
  const auto a = mean_stderr(acc);
  const double mean_ll = sum_ll / double(res.size());
  return {{"acc", a.mean},
          {"acc_stderr", a.se},
          {"error", 1.0 - a.mean},
          {"perplexity", std::exp(-mean_ll)},
          {"log_perplexity", tokens > 0 ? -sum_ll / double(tokens) : 0.0},
          {"target_tokens", tokens},
          {"examples", int64_t(docs.size())},
          {"file", path}};
}

RollingEvaluator::RollingEvaluator(Scorer& scorer, const TextEncoder& enc, HarnessOptions opts, std::string label,
                                   bool append_eos)
    : scorer_(scorer), enc_(enc), opts_(opts), label_(std::move(label)), append_eos_(append_eos) {}

void RollingEvaluator::add(const std::vector<RollingDoc>& docs) {
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(docs.size());
  // BOS once per document: as the windows' prefix when that is BOS, else in front of the text.
  const bool bos_in_text = opts_.add_bos && opts_.prefix_token != opts_.bos_token;
  for (const auto& d : docs) {
    seqs.emplace_back();
    if (bos_in_text) seqs.back().push_back(opts_.bos_token);
    const auto ids = enc_.encode(d.text);
    seqs.back().insert(seqs.back().end(), ids.begin(), ids.end());
    if (append_eos_) seqs.back().push_back(opts_.eos_token);
    totals_.words += d.words;
    totals_.bytes += d.bytes;
  }
  add_tokens(seqs);
}

void RollingEvaluator::add_tokens(const std::vector<std::vector<int32_t>>& sequences) {
  std::vector<TokenRequest> reqs;
  for (const auto& s : sequences) {
    for (auto& r : rolling_requests(s, opts_.prefix_token, scorer_.max_length())) reqs.push_back(std::move(r));
    totals_.tokens += int64_t(s.size());
    ++totals_.docs;
  }
  for (const auto& r : score_requests(scorer_, reqs, label_)) totals_.logprob += r.logprob;
}

nlohmann::json evaluate_wikitext(Scorer& scorer, const TextEncoder& enc, const std::vector<RollingDoc>& docs,
                                 const std::string& path, const HarnessOptions& opts) {
  HLD_INPUT_CHECK(!docs.empty(), path + ": no documents for wikitext");
  RollingEvaluator ev(scorer, enc, opts, "wikitext", false);
  ev.add(docs);
  auto j = ev.result();
  j["file"] = path;
  return j;
}

nlohmann::json evaluate_c4(Scorer& scorer, const TextEncoder& enc, const std::string& path, int64_t max_docs,
                           const HarnessOptions& opts) {
  data::CorpusReader reader({path});
  RollingEvaluator ev(scorer, enc, opts, "c4", true);
  std::vector<RollingDoc> chunk;
  data::Document doc;
  int64_t n = 0;
  auto flush = [&] {
    if (!chunk.empty()) ev.add(chunk);
    chunk.clear();
  };
  while ((max_docs <= 0 || n < max_docs) && reader.next(doc)) {
    chunk.push_back({doc.text, py_count_ws_split(doc.text), int64_t(doc.text.size()), doc.line});
    ++n;
    if (int64_t(chunk.size()) >= opts.c4_chunk_docs) flush();
  }
  flush();
  HLD_INPUT_CHECK(n > 0, path + ": no documents for c4");
  auto j = ev.result();
  j["skipped"] = reader.stats().skipped();
  j["file"] = path;
  return j;
}

std::string shard_split_dir(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(path) / "index.json")) return path;
  if (fs::exists(fs::path(path) / "valid" / "index.json")) return (fs::path(path) / "valid").string();
  throw InputError("eval.tasks.valid_shards: '" + path +
                   "' is neither a shard split (with index.json) nor a prepared directory with valid/index.json");
}

nlohmann::json evaluate_shards(Scorer& scorer, const std::string& dir, int64_t max_sequences) {
  const std::string split = shard_split_dir(dir);
  const int64_t context = scorer.max_length();
  data::BatchStream stream(split, 1, context, 0);
  const int64_t n = max_sequences > 0 ? std::min(max_sequences, stream.num_sequences()) : stream.num_sequences();
  HLD_INPUT_CHECK(n > 0, split + ": no sequences of " + std::to_string(context + 1) + " tokens");
  RollingTotals t;
  std::vector<int32_t> seq;
  const int64_t chunk = 64;
  for (int64_t b = 0; b < n; b += chunk) {
    std::vector<TokenRequest> reqs;
    for (int64_t i = b; i < std::min(n, b + chunk); ++i) {
      stream.sequence(i, seq);
      reqs.push_back({{seq.front()}, std::vector<int32_t>(seq.begin() + 1, seq.end())});
      t.tokens += int64_t(seq.size()) - 1;
      ++t.docs;
    }
    for (const auto& r : score_requests(scorer, reqs, "valid_shards")) t.logprob += r.logprob;
  }
  const double nll = -t.logprob / double(t.tokens);
  return {{"log_perplexity", nll}, {"token_perplexity", std::exp(nll)},
          {"tokens", t.tokens},    {"examples", t.docs},
          {"context", context},    {"file", split}};
}

TaskSuite load_tasks(const config::EvalConfig& cfg) {
  TaskSuite s;
  s.max_examples = cfg.max_examples;
  const auto get = [&](const char* k) {
    auto it = cfg.tasks.find(k);
    return it == cfg.tasks.end() ? std::string() : it->second;
  };
  const int64_t m = cfg.max_examples;
  std::string names;  // for the message below
  for (const auto& task : spec::eval_tasks()) {
    names += (names.empty() ? "" : ", ") + std::string(task.name);
    const std::string p = get(task.name);
    if (p.empty()) continue;
    switch (task.kind) {
      case spec::TaskKind::kC4: {
        data::CorpusReader check({p});  // exists and has a supported name
        s.c4 = p;
        break;
      }
      case spec::TaskKind::kShards:
        s.valid_shards = shard_split_dir(p);
        break;
      case spec::TaskKind::kWikitext:
        s.wikitext = read_wikitext(p, m);
        s.wikitext_path = p;
        break;
      case spec::TaskKind::kChoice:
        s.choice.push_back(read_choice_task(task.name, p, cfg.piqa_labels, m));
        break;
      case spec::TaskKind::kLambada:
        s.lambada = read_lambada(p, m);
        s.lambada_path = p;
        break;
    }
  }
  for (const auto& t : s.choice) HLD_INPUT_CHECK(!t.docs.empty(), t.path + ": no examples for " + t.name);
  if (!s.lambada_path.empty()) HLD_INPUT_CHECK(!s.lambada.empty(), s.lambada_path + ": no examples for lambada");
  HLD_INPUT_CHECK(!cfg.tasks.empty(), "eval.tasks: no task configured (expected file paths for any of " + names + ")");
  return s;
}

nlohmann::json run_tasks(Scorer& scorer, const TextEncoder& enc, const TaskSuite& suite, const HarnessOptions& opts) {
  nlohmann::json out = nlohmann::json::object();
  if (!suite.c4.empty()) out["c4"] = evaluate_c4(scorer, enc, suite.c4, suite.max_examples, opts);
  if (!suite.valid_shards.empty())
    out["valid_shards"] = evaluate_shards(scorer, suite.valid_shards, suite.max_examples);
  if (!suite.wikitext_path.empty())
    out["wikitext"] = evaluate_wikitext(scorer, enc, suite.wikitext, suite.wikitext_path, opts);
  for (const auto& t : suite.choice) out[t.name] = evaluate_choice(scorer, enc, t, opts);
  if (!suite.lambada_path.empty())
    out["lambada"] = evaluate_lambada(scorer, enc, suite.lambada, suite.lambada_path, opts);
  return out;
}

}  // namespace hld::eval
