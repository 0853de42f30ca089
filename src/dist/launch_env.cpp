// Launcher environment parsing and validation (see launch_env.h).
#include "hld/dist/launch_env.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "hld/util/error.h"

extern char** environ;

namespace hld::dist {
namespace {

using Env = std::map<std::string, std::string>;

/// The value of `name`, or nullopt when it is unset or empty (launchers sometimes export "").
std::optional<std::string> get(const Env& env, const std::string& name) {
  auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

int64_t parse_int(const std::string& name, const std::string& v, int64_t lo, int64_t hi) {
  bool digits = !v.empty() && v.size() <= 12;
  for (char c : v) digits = digits && c >= '0' && c <= '9';
  HLD_INPUT_CHECK(digits, name + "='" + v + "': expected a non-negative integer");
  const int64_t x = std::stoll(v);
  HLD_INPUT_CHECK(x >= lo && x <= hi,
                  name + "=" + v + ": expected a value in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

double parse_positive(const std::string& name, const std::string& v, double hi) {
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v.c_str(), &end);
  HLD_INPUT_CHECK(
      end && *end == '\0' && errno == 0 && std::isfinite(x) && x > 0 && x <= hi,
      name + "='" + v + "': expected a positive number of at most " + std::to_string(static_cast<int64_t>(hi)));
  return x;
}

constexpr int64_t kMaxWorld = 1 << 20;

}  // namespace

LaunchEnv parse_launch_env(const Env& env) {
  LaunchEnv e;
  if (auto t = get(env, "HLD_DIST_TIMEOUT")) e.timeout_s = parse_positive("HLD_DIST_TIMEOUT", *t, 7 * 86400.0);
  if (auto b = get(env, "HLD_DIST_BUCKET_MB"))
    e.bucket_bytes = static_cast<int64_t>(parse_positive("HLD_DIST_BUCKET_MB", *b, 65536.0) * (1 << 20));
  if (e.bucket_bytes < 1024) e.bucket_bytes = 1024;
  if (auto i = get(env, "GLOO_SOCKET_IFNAME")) e.gloo_ifname = *i;

  const auto rank_v = get(env, "RANK"), world_v = get(env, "WORLD_SIZE");
  const auto slurm_rank = get(env, "SLURM_PROCID"), slurm_ntasks = get(env, "SLURM_NTASKS");
  std::string rank_name = "RANK", world_name = "WORLD_SIZE", local_name = "LOCAL_RANK";
  std::optional<std::string> local_v = get(env, "LOCAL_RANK"), local_world_v = get(env, "LOCAL_WORLD_SIZE");
  std::string local_world_name = "LOCAL_WORLD_SIZE";
  std::optional<std::string> r = rank_v, w = world_v;
  if (rank_v) {
    HLD_INPUT_CHECK(world_v, "WORLD_SIZE: not set, but RANK=" + *rank_v + " is (a data-parallel launch sets both)");
    e.source = "torchrun";
  } else if (slurm_rank && (world_v || slurm_ntasks)) {
    // Slurm `srun`: task id and count come from Slurm, the rendezvous address from MASTER_ADDR/PORT.
    e.source = "slurm";
    r = slurm_rank;
    rank_name = "SLURM_PROCID";
    if (!world_v) {
      w = slurm_ntasks;
      world_name = "SLURM_NTASKS";
    }
    if (!local_v && get(env, "SLURM_LOCALID")) {
      local_v = get(env, "SLURM_LOCALID");
      local_name = "SLURM_LOCALID";
    }
    if (!local_world_v && get(env, "SLURM_NTASKS_PER_NODE")) {
      local_world_v = get(env, "SLURM_NTASKS_PER_NODE");
      local_world_name = "SLURM_NTASKS_PER_NODE";
    }
  } else if (world_v) {
    const int64_t world = parse_int("WORLD_SIZE", *world_v, 1, kMaxWorld);
    HLD_INPUT_CHECK(world == 1, "RANK: not set, but WORLD_SIZE=" + *world_v + " (a data-parallel launch sets both)");
    e.source = "single";
    return e;
  }
  if (!w) {
    e.source = "single";
    return e;
  }

  e.world = static_cast<int>(parse_int(world_name, *w, 1, kMaxWorld));
  e.rank = static_cast<int>(parse_int(rank_name, *r, 0, kMaxWorld));
  HLD_INPUT_CHECK(e.rank < e.world, rank_name + "=" + *r + " is not below " + world_name + "=" + *w +
                                        " (ranks are numbered 0 .. world size - 1)");
  if (local_v) {
    e.local_rank = static_cast<int>(parse_int(local_name, *local_v, 0, kMaxWorld));
    HLD_INPUT_CHECK(e.local_rank < e.world, local_name + "=" + *local_v + " is not below " + world_name + "=" + *w);
  } else if (e.world > 1) {
    e.local_rank = 0;  // unknown: only matters for picking a GPU, where the launcher sets it
  }
  if (local_world_v) {
    e.local_world = static_cast<int>(parse_int(local_world_name, *local_world_v, 1, kMaxWorld));
    e.local_world_known = true;
    HLD_INPUT_CHECK(e.local_world <= e.world,
                    local_world_name + "=" + *local_world_v + " is larger than " + world_name + "=" + *w);
    HLD_INPUT_CHECK(e.local_rank < e.local_world, local_name + "=" + std::to_string(e.local_rank) + " is not below " +
                                                      local_world_name + "=" + *local_world_v);
  }
  if (e.world == 1) {
    e.source = "single";
    return e;
  }

  const auto addr = get(env, "MASTER_ADDR"), port = get(env, "MASTER_PORT");
  HLD_INPUT_CHECK(addr, "MASTER_ADDR: not set, but " + world_name + "=" + *w +
                            " asks for several processes (export the host of rank 0, e.g. MASTER_ADDR=$(hostname); "
                            "WORLD_SIZE=1 runs one process)");
  HLD_INPUT_CHECK(port, "MASTER_PORT: not set, but " + world_name + "=" + *w +
                            " asks for several processes (export a free TCP port on MASTER_ADDR, e.g. 29500)");
  e.master_addr = *addr;
  if (auto a = get(env, "TORCHELASTIC_USE_AGENT_STORE"); a && *a == "True") {
    e.agent_store = true;
    const auto restarts = get(env, "TORCHELASTIC_RESTART_COUNT");
    e.store_prefix = "/worker/attempt_" +
                     std::to_string(restarts ? parse_int("TORCHELASTIC_RESTART_COUNT", *restarts, 0, 1 << 30) : 0);
  }
  e.master_port = static_cast<int>(parse_int("MASTER_PORT", *port, 1, 65535));
  return e;
}

LaunchEnv read_launch_env() {
  Env env;
  for (char** p = environ; p && *p; ++p) {
    const std::string kv = *p;
    const auto eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return parse_launch_env(env);
}

std::string describe(const LaunchEnv& e) {
  std::string s = "RANK=" + std::to_string(e.rank) + " WORLD_SIZE=" + std::to_string(e.world) +
                  " LOCAL_RANK=" + std::to_string(e.local_rank);
  if (e.world > 1) s += " MASTER_ADDR=" + e.master_addr + " MASTER_PORT=" + std::to_string(e.master_port);
  return s;
}

}  // namespace hld::dist
