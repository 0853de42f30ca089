// The launcher environment of a data-parallel job, as torchrun, Slurm `srun` (with MASTER_ADDR /
// MASTER_PORT exported) and scripts/launch_local.sh set it, parsed and validated once:
//   RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT   (torchrun style)
//   SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE           (when RANK is absent)
//   HLD_DIST_TIMEOUT     seconds for the rendezvous and for every collective (default 300)
//   HLD_DIST_BUCKET_MB   gradient all-reduce bucket size in MiB (default 25)
//   GLOO_SOCKET_IFNAME   network interface for Gloo (PyTorch's variable; default: the hostname's)
//   TORCHELASTIC_USE_AGENT_STORE=True, TORCHELASTIC_RESTART_COUNT   (torchrun: its agent already
//                        serves the TCPStore at MASTER_ADDR:MASTER_PORT, so every rank is a client
//                        and keys live under /worker/attempt_<restart count>, as in PyTorch)
// Torch-free, so it is unit-tested on plain maps.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace hld::dist {

struct LaunchEnv {
  int rank = 0;
  int world = 1;
  int local_rank = 0;
  int local_world = 1;  ///< processes on this node (LOCAL_WORLD_SIZE; 1 when unknown)
  bool local_world_known = false;
  std::string master_addr;  ///< host of rank 0's TCPStore (empty for one process)
  int master_port = 0;
  double timeout_s = 300;  ///< rendezvous and collective timeout
  int64_t bucket_bytes = 25ll << 20;
  std::string gloo_ifname;   ///< GLOO_SOCKET_IFNAME ("" = derive from the hostname)
  bool agent_store = false;  ///< torchrun's agent serves the store: rank 0 does not
  std::string store_prefix;  ///< key prefix in the agent's store ("" otherwise)
  std::string source;        ///< "torchrun", "slurm" or "single", for messages

  bool distributed() const { return world > 1; }
};

/// Parses `env` (variable → value; absent variables are absent keys). Without WORLD_SIZE, RANK and
/// Slurm task variables (or with WORLD_SIZE=1) the result is a single process. Throws InputError
/// naming the variable when a value is not a number, out of range, or inconsistent with another
/// (RANK >= WORLD_SIZE, RANK without WORLD_SIZE, MASTER_ADDR missing for several processes...).
LaunchEnv parse_launch_env(const std::map<std::string, std::string>& env);

/// parse_launch_env over this process's environment.
LaunchEnv read_launch_env();

/// "RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500" for messages.
std::string describe(const LaunchEnv& env);

}  // namespace hld::dist
