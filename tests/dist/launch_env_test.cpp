// Launcher environment parsing: torchrun and Slurm variables, single-process defaults, and an
// InputError naming the variable for every inconsistent or malformed value.
#include <gtest/gtest.h>

#include "hld/dist/launch_env.h"
#include "hld/util/error.h"

namespace hld::dist {
namespace {

using Env = std::map<std::string, std::string>;

Env torchrun(int rank, int world, int local = -1) {
  return {{"RANK", std::to_string(rank)},
          {"WORLD_SIZE", std::to_string(world)},
          {"LOCAL_RANK", std::to_string(local < 0 ? rank : local)},
          {"MASTER_ADDR", "10.0.0.7"},
          {"MASTER_PORT", "29500"}};
}

/// The InputError message of parsing `env` ("" when it parses).
std::string error_of(const Env& env) {
  try {
    parse_launch_env(env);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(LaunchEnv, NoVariablesIsOneProcess) {
  const auto e = parse_launch_env({});
  EXPECT_FALSE(e.distributed());
  EXPECT_EQ(e.world, 1);
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.source, "single");
  EXPECT_DOUBLE_EQ(e.timeout_s, 300);
  EXPECT_EQ(e.bucket_bytes, 25 << 20);
  // WORLD_SIZE=1 (torchrun --nproc-per-node 1) and empty values are one process too.
  EXPECT_FALSE(parse_launch_env(torchrun(0, 1)).distributed());
  EXPECT_FALSE(parse_launch_env({{"WORLD_SIZE", "1"}}).distributed());
  EXPECT_FALSE(parse_launch_env({{"WORLD_SIZE", ""}, {"RANK", ""}}).distributed());
}

TEST(LaunchEnv, ReadsTorchrunVariables) {
  auto env = torchrun(3, 8, 1);
  env["LOCAL_WORLD_SIZE"] = "4";
  env["HLD_DIST_TIMEOUT"] = "12.5";
  env["HLD_DIST_BUCKET_MB"] = "1";
  env["GLOO_SOCKET_IFNAME"] = "eth1";
  const auto e = parse_launch_env(env);
  EXPECT_TRUE(e.distributed());
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world, 4);
  EXPECT_TRUE(e.local_world_known);
  EXPECT_EQ(e.master_addr, "10.0.0.7");
  EXPECT_EQ(e.master_port, 29500);
  EXPECT_DOUBLE_EQ(e.timeout_s, 12.5);
  EXPECT_EQ(e.bucket_bytes, 1 << 20);
  EXPECT_EQ(e.gloo_ifname, "eth1");
  EXPECT_EQ(e.source, "torchrun");
  EXPECT_EQ(describe(e), "RANK=3 WORLD_SIZE=8 LOCAL_RANK=1 MASTER_ADDR=10.0.0.7 MASTER_PORT=29500");
  EXPECT_FALSE(e.agent_store);
  EXPECT_EQ(e.store_prefix, "");
  // torchrun's elastic agent serves the store itself; keys live under the restart attempt.
  env["TORCHELASTIC_USE_AGENT_STORE"] = "True";
  env["TORCHELASTIC_RESTART_COUNT"] = "2";
  const auto a = parse_launch_env(env);
  EXPECT_TRUE(a.agent_store);
  EXPECT_EQ(a.store_prefix, "/worker/attempt_2");
}

TEST(LaunchEnv, FallsBackToSlurmTaskVariables) {
  Env env = {{"SLURM_PROCID", "5"},          {"SLURM_NTASKS", "8"},     {"SLURM_LOCALID", "1"},
             {"SLURM_NTASKS_PER_NODE", "4"}, {"MASTER_ADDR", "node01"}, {"MASTER_PORT", "29400"}};
  auto e = parse_launch_env(env);
  EXPECT_EQ(e.source, "slurm");
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world, 4);
  // torchrun's variables win over Slurm's when both are present.
  env["RANK"] = "2";
  env["WORLD_SIZE"] = "4";
  env["LOCAL_RANK"] = "0";
  env.erase("SLURM_NTASKS_PER_NODE");
  e = parse_launch_env(env);
  EXPECT_EQ(e.source, "torchrun");
  EXPECT_EQ(e.rank, 2);
  EXPECT_EQ(e.world, 4);
  // One Slurm task is one process, MASTER_ADDR or not.
  EXPECT_FALSE(parse_launch_env({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}).distributed());
  // Several Slurm tasks without a rendezvous address: say which variable is missing.
  EXPECT_NE(error_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}}).find("MASTER_ADDR: not set"), std::string::npos);
}

TEST(LaunchEnv, InconsistentOrMalformedValuesNameTheVariable) {
  struct Case {
    Env env;
    std::string expect;
  };
  auto with = [](Env e, const std::string& k, const std::string& v) {
    if (v.empty())
      e.erase(k);
    else
      e[k] = v;
    return e;
  };
  const Env ok = torchrun(1, 2);
  const std::vector<Case> cases = {
      {with(ok, "RANK", "2"), "RANK=2 is not below WORLD_SIZE=2"},
      {with(ok, "RANK", "-1"), "RANK='-1': expected a non-negative integer"},
      {with(ok, "RANK", "one"), "RANK='one'"},
      {with(ok, "WORLD_SIZE", "2x"), "WORLD_SIZE='2x'"},
      {with(ok, "WORLD_SIZE", "0"), "WORLD_SIZE=0: expected a value in [1,"},
      {with(ok, "WORLD_SIZE", ""), "WORLD_SIZE: not set, but RANK=1"},
      {with(ok, "RANK", ""), "RANK: not set, but WORLD_SIZE=2"},
      {with(ok, "LOCAL_RANK", "7"), "LOCAL_RANK=7 is not below WORLD_SIZE=2"},
      {with(with(ok, "LOCAL_WORLD_SIZE", "1"), "LOCAL_RANK", "1"), "LOCAL_RANK=1 is not below LOCAL_WORLD_SIZE=1"},
      {with(ok, "LOCAL_WORLD_SIZE", "3"), "LOCAL_WORLD_SIZE=3 is larger than WORLD_SIZE=2"},
      {with(ok, "MASTER_ADDR", ""), "MASTER_ADDR: not set"},
      {with(ok, "MASTER_PORT", ""), "MASTER_PORT: not set"},
      {with(ok, "MASTER_PORT", "70000"), "MASTER_PORT=70000: expected a value in [1, 65535]"},
      {with(ok, "MASTER_PORT", "http"), "MASTER_PORT='http'"},
      {with(ok, "HLD_DIST_TIMEOUT", "0"), "HLD_DIST_TIMEOUT='0': expected a positive number"},
      {with(ok, "HLD_DIST_TIMEOUT", "5s"), "HLD_DIST_TIMEOUT='5s'"},
      {with(ok, "HLD_DIST_BUCKET_MB", "-3"), "HLD_DIST_BUCKET_MB='-3'"},
      {{{"RANK", "0"}, {"WORLD_SIZE", "99999999999999"}}, "WORLD_SIZE='99999999999999'"},
      {{{"SLURM_PROCID", "4"}, {"SLURM_NTASKS", "4"}}, "SLURM_PROCID=4 is not below SLURM_NTASKS=4"},
  };
  for (const auto& c : cases) {
    const std::string msg = error_of(c.env);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "expected '" << c.expect << "', got '" << msg << "'";
  }
}

}  // namespace
}  // namespace hld::dist
