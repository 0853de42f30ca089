// objective.divergence / jsd_beta / skew / tail as config: parsed, validated (bad values exit 2
// naming the key, through the binary too), written into the complete config; left out of a run's
// identity at their defaults, so run folders written before the keys existed still resume and a
// changed divergence is refused naming the key; and a short KD run trains with each divergence.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <regex>

#include "hld/config/loader.h"
#include "hld/train/run_dir.h"
#include "hld/train/trainer.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"
#include "test_util.h"
#include "../train/train_fixture.h"

namespace hld::objectives {
namespace {

std::string error_of(const std::vector<std::string>& sets) {
  try {
    config::load_string("objective: {name: kd}\n", sets, test::repo_path("configs"));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(DivergenceConfig, ParsedAndWrittenIntoTheCompleteConfig) {
  auto c = config::load_string("objective: {name: kd, divergence: jsd, jsd_beta: 0.25, tail: bucket}\n");
  EXPECT_EQ(c.objective.divergence, config::Divergence::kJsd);
  EXPECT_DOUBLE_EQ(c.objective.jsd_beta, 0.25);
  EXPECT_EQ(c.objective.tail, config::TailMode::kBucket);
  for (const char* s : {"divergence: jsd", "jsd_beta: 0.25", "skew: 0.9", "tail: bucket"})
    EXPECT_NE(c.resolved_yaml.find(s), std::string::npos) << s << "\n" << c.resolved_yaml;
  EXPECT_EQ(config::to_yaml(config::load_string(c.resolved_yaml)), c.resolved_yaml);
  // Defaults: the paper's forward KL on renormalised top-k, written out too.
  auto d = config::load_string("objective: {name: kd}\n");
  EXPECT_EQ(d.objective.divergence, config::Divergence::kForwardKl);
  EXPECT_NE(d.resolved_yaml.find("divergence: forward_kl"), std::string::npos);
  EXPECT_NE(d.resolved_yaml.find("tail: renormalise"), std::string::npos);
  for (const char* name : {"forward_kl", "reverse_kl", "jsd", "skew_kl", "tvd"})
    EXPECT_EQ(error_of({std::string("objective.divergence=") + name}), "") << name;
}

TEST(DivergenceConfig, BadValuesNameTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"objective.divergence=kl", "objective.divergence"}, {"objective.jsd_beta=1.5", "objective.jsd_beta"},
      {"objective.jsd_beta=-0.1", "objective.jsd_beta"},   {"objective.skew=0", "objective.skew"},
      {"objective.skew=1.01", "objective.skew"},           {"objective.tail=zero", "objective.tail"},
      {"objective.jsd_beta=half", "objective.jsd_beta"}};
  for (const auto& [set, key] : cases) {
    const std::string m = error_of({set});
    EXPECT_NE(m.find(key), std::string::npos) << set << ": " << m;
  }
  // The bucket's tail mass comes from the teacher's log-sum-exp at temperature 1.
  const std::string m = error_of({"objective.tail=bucket", "objective.temperature=2"});
  EXPECT_NE(m.find("objective.tail"), std::string::npos) << m;
  EXPECT_EQ(error_of({"objective.tail=bucket", "objective.jsd_beta=0", "objective.skew=1"}), "");
}

#ifdef HLD_TRAIN_BIN
TEST(DivergenceConfig, BinaryExits2NamingTheKey) {
  const std::string cfg = test::repo_path("configs/paper/student_123m_base.yaml");
  for (const auto& [set, key] : std::vector<std::pair<std::string, std::string>>{
           {"objective.divergence=hinge", "objective.divergence"},
           {"objective.jsd_beta=2", "objective.jsd_beta"},
           {"objective.skew=-1", "objective.skew"},
           {"teacher.logits=top_k", "teacher.logits"},
           {"teacher.logits=sampled --set objective.divergence=jsd", "objective.divergence"},
           {"teacher.logits=sampled --set objective.tail=bucket", "objective.tail"}}) {
    const auto r = test::run_command(std::string(HLD_TRAIN_BIN) + " flops " + cfg + " --set objective.name=kd --set " +
                                     set + " 2>&1");
    EXPECT_EQ(r.exit_code, 2) << set << "\n" << r.output;
    EXPECT_NE(r.output.find(key), std::string::npos) << set << "\n" << r.output;
  }
  const auto ok = test::run_command(std::string(HLD_TRAIN_BIN) + " flops " + cfg +
                                    " --set objective.name=kd --set objective.divergence=tvd 2>&1");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("KD term     tvd on the teacher's top-k, k 128 (tail renormalise), tau 1, alpha 0.9: "
                           "variant: tvd"),
            std::string::npos)
      << ok.output;
  const auto paper = test::run_command(std::string(HLD_TRAIN_BIN) + " flops " + cfg +
                                       " --set objective.name=kd --set teacher.logits=sampled --json 2>&1");
  ASSERT_EQ(paper.exit_code, 0) << paper.output;
  const auto j = nlohmann::json::parse(paper.output);
  EXPECT_EQ(j.at("kd_term").at("teacher_logits"), "sampled");
  EXPECT_EQ(j.at("kd_term").at("variant"), "sampled logits");
}
#endif

TEST(DivergenceConfig, IdentityLeavesTheKeysOutAtTheirDefaults) {
  const auto d = config::load_string("objective: {name: kd}\n");
  const auto id = train::config_identity(d);
  for (const char* k : {"objective.divergence", "objective.jsd_beta", "objective.skew", "objective.tail"})
    EXPECT_EQ(id.count(k), 0u) << k;
  EXPECT_EQ(id.count("objective.alpha"), 1u);  // keys of the v2 identity stay
  // Written out explicitly at their defaults: the same identity.
  const auto e = config::load_string(
      "objective: {name: kd, divergence: forward_kl, jsd_beta: 0.5, skew: 0.9, tail: renormalise}\n");
  EXPECT_EQ(train::config_fingerprint(e), train::config_fingerprint(d));
  // Any other value is part of the identity.
  const auto j = config::load_string("objective: {name: kd, divergence: jsd}\n");
  EXPECT_EQ(train::config_identity(j).at("objective.divergence"), "jsd");
  EXPECT_NE(train::config_fingerprint(j), train::config_fingerprint(d));
  const auto b = config::load_string("objective: {name: kd, jsd_beta: 0.3}\n");
  EXPECT_NE(train::config_fingerprint(b), train::config_fingerprint(d));
  // The other keys added with issue 20 are left out at today's defaults too.
  for (const char* k : {"objective.hidden_pairs", "objective.hidden_map", "teacher.logits", "teacher.sample_seed"})
    EXPECT_EQ(id.count(k), 0u) << k;
}

train::TrainResult quiet_run(const config::ExperimentConfig& cfg, int64_t stop_after = -1) {
  train::TrainOptions o;
  o.quiet = true;
  o.stop_after_steps = stop_after;
  return train::run_training(cfg, o);
}

/// The complete config as a version without the divergence keys wrote it.
std::string without_divergence_keys(const std::string& yaml) {
  return std::regex_replace(yaml, std::regex("\n *(divergence|jsd_beta|skew|tail): [^\n]*"), "");
}

TEST(DivergenceConfig, RunFoldersFromBeforeTheKeysResumeAndAChangeIsRefused) {
  test::TempDir tmp;
  const std::string dir = "run.dir=" + tmp.path() + "/r";
  const std::vector<std::string> base = {dir, "objective.name=kd", "budget.unit=steps", "budget.amount=4"};
  auto cfg = test::tiny_config(base);
  quiet_run(cfg, 2);
  // The run folder as a version before objective.divergence left it: no such keys in config.yaml
  // (its checkpoint's fingerprint never hashed them).
  const std::string stored = util::read_file(tmp.path() + "/r/config.yaml");
  const std::string old = without_divergence_keys(stored);
  ASSERT_EQ(old.find("divergence:"), std::string::npos) << old;
  ASSERT_NE(old, stored);
  util::write_file_atomic(tmp.path() + "/r/config.yaml", old);
  auto more = base;
  more.push_back("objective.divergence=jsd");
  try {
    quiet_run(test::tiny_config(more));
    ADD_FAILURE() << "a resume with another divergence was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("objective.divergence: (absent) -> jsd"), std::string::npos) << e.what();
  }
  auto r = quiet_run(cfg);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.state.step, 4);
  EXPECT_EQ(util::read_file(tmp.path() + "/r/config.yaml"), cfg.resolved_yaml);  // rewritten complete
}

TEST(DivergenceConfig, KdTrainsWithEveryDivergence) {
  std::map<std::string, double> kd_at_1;
  for (const std::string d : {"forward_kl", "reverse_kl", "jsd", "skew_kl", "tvd"}) {
    test::TempDir tmp;
    auto cfg = test::tiny_config({"run.dir=" + tmp.path() + "/r", "objective.name=kd", "objective.divergence=" + d,
                                  "objective.skew=0.9", "budget.unit=steps", "budget.amount=3", "run.log_every=1"});
    auto r = quiet_run(cfg);
    ASSERT_TRUE(r.finished) << d;
    std::ifstream metrics(tmp.path() + "/r/metrics.jsonl");
    std::vector<double> losses;
    for (std::string line; std::getline(metrics, line);) {
      auto j = nlohmann::json::parse(line);
      if (j.contains("train/kd")) {
        losses.push_back(j["train/loss"].get<double>());
        if (j["step"] == 1) kd_at_1[d] = j["train/kd"].get<double>();
      }
    }
    ASSERT_EQ(losses.size(), 3u) << d;
    for (double l : losses) EXPECT_TRUE(std::isfinite(l)) << d;
    EXPECT_GT(kd_at_1[d], 0) << d;
  }
  // The same first batch and initialisation: every divergence gives its own KD value.
  for (const auto& [a, va] : kd_at_1)
    for (const auto& [b, vb] : kd_at_1)
      if (a < b) {
        EXPECT_NE(va, vb) << a << " vs " << b;
      }
}

/// train/<term> at `step` of a run folder's metrics.jsonl.
double metric_at(const std::string& run, int64_t step, const std::string& key) {
  std::ifstream metrics(run + "/metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.value("step", int64_t{-1}) == step && j.contains(key)) return j[key].get<double>();
  }
  return -1;
}

TEST(DivergenceConfig, HldcAndHldfPhaseTwoUseTheDivergence) {
  // HLDC's KD term and HLDF's second phase take objective.divergence; the hidden term does not.
  for (const std::string obj : {"hldc", "hldf"}) {
    std::map<std::string, std::string> runs;
    test::TempDir tmp;
    for (const std::string d : {"forward_kl", "tvd"}) {
      runs[d] = tmp.path() + "/" + d;
      auto cfg = test::tiny_config({"run.dir=" + runs[d], "objective.name=" + obj, "objective.divergence=" + d,
                                    "budget.unit=steps", "budget.amount=6", "objective.p1=0.34", "run.log_every=1"});
      ASSERT_TRUE(quiet_run(cfg).finished) << obj << " " << d;
    }
    // The first step of the KD phase (HLDF: after its hint steps) has the same weights in both runs.
    int64_t first_kd = 1;
    while (first_kd <= 6 && metric_at(runs["forward_kl"], first_kd, "train/kd") < 0) ++first_kd;
    ASSERT_LE(first_kd, 6) << obj;
    const double f = metric_at(runs["forward_kl"], first_kd, "train/kd");
    const double t = metric_at(runs["tvd"], first_kd, "train/kd");
    EXPECT_GT(t, 0) << obj;
    EXPECT_LT(t, 1.0) << obj;  // a total variation is at most 1 (τ = 1)
    EXPECT_NE(f, t) << obj;
    if (obj == "hldc") {
      EXPECT_EQ(metric_at(runs["forward_kl"], 1, "train/hidden"), metric_at(runs["tvd"], 1, "train/hidden"));
    } else {
      EXPECT_GT(first_kd, 1);  // the hint phase ran first, identical in both
      EXPECT_EQ(metric_at(runs["forward_kl"], 1, "train/hidden"), metric_at(runs["tvd"], 1, "train/hidden"));
    }
  }
}

}  // namespace
}  // namespace hld::objectives
