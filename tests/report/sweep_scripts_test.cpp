// The sweep scripts: `paper_grid.sh --dry-run` lists exactly the 63 runs of Table 1 per student
// size, each with overrides the config loader accepts; `mini_grid.sh` really runs a grid (with a
// stand-in binary), in parallel, by shards, skipping finished runs and reporting failures.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "hld/config/loader.h"
#include "hld/util/fs.h"
#include "run_fixtures.h"

namespace fs = std::filesystem;

namespace hld::report {
namespace {

struct Output {
  int rc = -1;
  std::string out;
};

Output sh(const std::string& cmd) {
  Output o;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  const int st = pclose(p);
  o.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return o;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

struct Cmd {
  std::string config;
  std::vector<std::string> sets;
  std::map<std::string, std::string> kv;
};

Cmd parse_cmd(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string t; in >> t;) w.push_back(t);
  Cmd c;
  EXPECT_GE(w.size(), 3u);
  EXPECT_EQ(w[0], "FAKE_BIN");
  EXPECT_EQ(w[1], "train");
  c.config = w[2];
  for (size_t i = 3; i + 1 < w.size(); i += 2) {
    EXPECT_EQ(w[i], "--set");
    c.sets.push_back(w[i + 1]);
    const auto eq = w[i + 1].find('=');
    c.kv[w[i + 1].substr(0, eq)] = w[i + 1].substr(eq + 1);
  }
  return c;
}

const std::string kScripts = std::string(HLD_SOURCE_DIR) + "/scripts/";

void check_paper_grid(const std::string& size, const std::set<double>& p1s) {
  const auto o =
      sh("HLD_TRAIN=FAKE_BIN bash " + kScripts + "paper_grid.sh " + size + " --dry-run --runs-dir /tmp/grid");
  ASSERT_EQ(o.rc, 0);
  const auto ls = lines(o.out);
  ASSERT_EQ(ls.size(), 63u);
  std::set<std::string> distinct(ls.begin(), ls.end()), dirs;
  EXPECT_EQ(distinct.size(), 63u);
  std::map<std::string, int> per_method;
  std::set<std::tuple<std::string, double, double, double, double, double>> points;
  for (const auto& l : ls) {
    const Cmd c = parse_cmd(l);
    dirs.insert(c.kv.at("run.dir"));
    EXPECT_EQ(c.kv.at("run.dir").rfind("/tmp/grid/" + size + "/", 0), 0u);
    // The overrides are valid for the loader and land on Table 1's values.
    const auto cfg = config::load(c.config, c.sets);
    const std::string m = config::to_string(cfg.objective.name);
    per_method[m] += 1;
    EXPECT_TRUE(std::set<double>({1e-4, 4e-4, 16e-4}).count(cfg.optimizer.lr)) << l;
    double a = 0, t = 0, g = 0, p = 0;
    if (m != "nll") {
      a = cfg.objective.alpha;
      t = cfg.objective.temperature;
      EXPECT_TRUE(a == 0.7 || a == 0.9) << l;
      EXPECT_TRUE(t == 0.5 || t == 1.0) << l;
    } else {
      EXPECT_EQ(c.kv.count("objective.alpha"), 0u);
    }
    if (m == "hldc") {
      g = cfg.objective.gamma;
      EXPECT_TRUE(g == 0.1 || g == 0.05) << l;
    }
    if (m == "hldf") {
      p = cfg.objective.p1;
      EXPECT_TRUE(p1s.count(p)) << l;
    }
    EXPECT_EQ(cfg.budget.unit, config::BudgetUnit::kOt);
    points.insert({m, cfg.optimizer.lr, a, t, g, p});
  }
  EXPECT_EQ(dirs.size(), 63u);
  EXPECT_EQ(points.size(), 63u);
  EXPECT_EQ(per_method["nll"], 3);
  EXPECT_EQ(per_method["kd"], 12);
  EXPECT_EQ(per_method["hldc"], 24);
  EXPECT_EQ(per_method["hldf"], 24);
}

TEST(SweepScripts, PaperGridDryRunIsTable1For123M) { check_paper_grid("123m", {0.01, 0.05}); }
TEST(SweepScripts, PaperGridDryRunIsTable1For735M) { check_paper_grid("735m", {0.01, 0.04}); }

TEST(SweepScripts, ShardsPartitionTheGridAndBadArgumentsExit2) {
  std::set<std::string> all;
  size_t total = 0;
  for (int i = 0; i < 3; ++i) {
    const auto o =
        sh("HLD_TRAIN=FAKE_BIN bash " + kScripts + "paper_grid.sh 123m --dry-run --shard " + std::to_string(i) + "/3");
    ASSERT_EQ(o.rc, 0);
    for (const auto& l : lines(o.out)) all.insert(l);
    total += lines(o.out).size();
  }
  EXPECT_EQ(total, 63u);
  EXPECT_EQ(all.size(), 63u);
  EXPECT_EQ(sh("bash " + kScripts + "paper_grid.sh 9b --dry-run").rc, 2);
  EXPECT_EQ(sh("bash " + kScripts + "paper_grid.sh 123m --dry-run --shard 3/3").rc, 2);
  EXPECT_EQ(sh("bash " + kScripts + "paper_grid.sh 123m --dry-run --jobs 0").rc, 2);
  EXPECT_EQ(sh("bash " + kScripts + "mini_grid.sh").rc, 2);
  EXPECT_EQ(sh("HLD_TRAIN=/nonexistent bash " + kScripts + "paper_grid.sh 123m --runs-dir /tmp/hld_no_runs").rc, 2);
  EXPECT_FALSE(fs::exists("/tmp/hld_no_runs"));
}

// The variant axes: every distilled point per divergence, hidden-layer preset (HLDC/HLDF only) and
// kind of teacher logits (sampled: forward KL only), named by suffix, with "{logits}" and
// "{seed}" substituted; the overrides load; unknown values exit 2.
TEST(SweepScripts, VariantAxesRepeatTheDistilledPoints) {
  const std::string base = "HLD_TRAIN=FAKE_BIN bash " + kScripts + "mini_grid.sh " + HLD_SOURCE_DIR +
                           "/configs/quickstart/student.yaml --preset smoke --dry-run --runs-dir /tmp/v --seeds 0,1";
  const auto o = sh(base +
                    " --divergences 'forward_kl tvd' --pairs 'paper uniform' --logits 'topk sampled'"
                    " --set 'teacher.cache=/c/{logits}-s{seed}'");
  ASSERT_EQ(o.rc, 0);
  std::set<std::string> names;
  for (const auto& l : lines(o.out)) {
    const Cmd c = parse_cmd(l);
    const std::string dir = c.kv.at("run.dir"), name = dir.substr(dir.rfind('/') + 1);
    names.insert(name);
    const auto cfg = config::load(c.config, c.sets);
    const bool sampled = cfg.teacher.logits == config::TeacherLogits::kSampled;
    EXPECT_EQ(sampled, name.find("_sampled") != std::string::npos) << l;
    EXPECT_EQ(c.kv.at("teacher.cache"),
              std::string("/c/") + (sampled ? "sampled" : "topk") + "-s" + std::to_string(cfg.run.seed))
        << l;
    EXPECT_EQ(cfg.objective.divergence == config::Divergence::kTvd, name.find("_tvd") != std::string::npos) << l;
    EXPECT_EQ(cfg.objective.hidden_map == "uniform", name.find("_uniform") != std::string::npos) << l;
  }
  // Per seed: nll 1; kd (topk: 2 divergences, sampled: 1) 3; hldc and hldf 3 × 2 presets each.
  EXPECT_EQ(names.size(), 2u * (1 + 3 + 6 + 6));
  EXPECT_TRUE(names.count("kd_lr3e-3_a0.5_t1.0_tvd_s1"));
  EXPECT_TRUE(names.count("hldf_lr3e-3_a0.5_t1.0_p0.1_uniform_sampled_s0"));
  EXPECT_FALSE(names.count("kd_lr3e-3_a0.5_t1.0_tvd_sampled_s0"));
  EXPECT_EQ(sh(base + " --logits topx").rc, 2);
  EXPECT_EQ(sh(base + " --divergences kl").rc, 2);
  EXPECT_EQ(sh(base + " --pairs all").rc, 2);
}

TEST(SweepScripts, MiniGridRunsSkipsFinishedAndReportsFailures) {
  const std::string tmp = testing::make_temp_dir("sweep");
  // A stand-in for hld-train: logs its arguments, "trains" by writing eval.json into run.dir, and
  // fails for HLDC runs when FAIL_HLDC is set.
  const std::string fake = tmp + "/fake-train";
  util::write_file_atomic(fake, R"(#!/usr/bin/env bash
echo "$*" >> "$CALLS"
dir=""; name=""
for a in "$@"; do case $a in run.dir=*) dir=${a#run.dir=};; objective.name=*) name=${a#objective.name=};; esac; done
if [ -n "${FAIL_HLDC:-}" ] && [ "$name" = hldc ]; then exit 3; fi
if [ "$1" = train ] && [ -n "${NO_EVAL_IN_TRAIN:-}" ]; then mkdir -p "$dir"; exit 0; fi
mkdir -p "$dir"; sleep 0.2; echo '{"metrics": {}}' > "$dir/eval.json"
)");
  fs::permissions(fake, fs::perms::owner_all);
  const std::string base = std::string(HLD_SOURCE_DIR) + "/configs/paper/student_123m_base.yaml";
  const std::string env = "CALLS=" + tmp + "/calls HLD_TRAIN=" + fake + " ";
  const std::string cmd = "bash " + kScripts + "mini_grid.sh " + base + " --runs-dir " + tmp + "/runs";

  // default preset: 2 NLL + 4 KD + 4 HLDC + 4 HLDF = 14 runs; HLDC fails → exit 1.
  auto o = sh(env + "FAIL_HLDC=1 " + cmd + " --jobs 3 --set budget.amount=1");
  EXPECT_EQ(o.rc, 1) << o.out;
  EXPECT_EQ(lines(util::read_file(tmp + "/calls")).size(), 14u);
  int finished = 0;
  for (const auto& e : fs::directory_iterator(tmp + "/runs")) {
    finished += fs::exists(e.path() / "eval.json");
    EXPECT_TRUE(fs::exists(e.path() / "sweep.log")) << e.path();
  }
  EXPECT_EQ(finished, 10);
  for (const auto& l : lines(util::read_file(tmp + "/calls")))
    EXPECT_NE(l.find("--set budget.amount=1 --set run.dir="), std::string::npos) << l;

  // Second pass: the 10 finished runs are skipped, the 4 HLDC runs are retried and succeed.
  o = sh(env + cmd + " --jobs 2");
  EXPECT_EQ(o.rc, 0) << o.out;
  EXPECT_EQ(lines(util::read_file(tmp + "/calls")).size(), 18u);
  int skipped = 0;
  for (const auto& l : lines(o.out)) skipped += l.rfind("skip", 0) == 0;
  EXPECT_EQ(skipped, 10);

  // Third pass: nothing to do; the dry run marks every run finished.
  o = sh(env + cmd);
  EXPECT_EQ(o.rc, 0);
  EXPECT_EQ(lines(util::read_file(tmp + "/calls")).size(), 18u);
  o = sh(env + cmd + " --dry-run");
  int marked = 0;
  for (const auto& l : lines(o.out)) marked += l.rfind("# finished:", 0) == 0;
  EXPECT_EQ(marked, 14);

  // The smoke preset: one run per method. A trainer that does not evaluate at the end is
  // followed by `hld-train eval` with the same config and overrides.
  o = sh(env + cmd + " --preset smoke --dry-run --runs-dir " + tmp + "/smoke");
  EXPECT_EQ(lines(o.out).size(), 4u);
  o = sh(env + "NO_EVAL_IN_TRAIN=1 " + cmd + " --preset smoke --runs-dir " + tmp + "/smoke");
  EXPECT_EQ(o.rc, 0) << o.out;
  const auto calls = lines(util::read_file(tmp + "/calls"));
  ASSERT_EQ(calls.size(), 18u + 8u);
  EXPECT_EQ(calls.back().rfind("eval " + base + " --set objective.name=", 0), 0u) << calls.back();
  for (const auto& e : fs::directory_iterator(tmp + "/smoke")) EXPECT_TRUE(fs::exists(e.path() / "eval.json"));
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace hld::report
