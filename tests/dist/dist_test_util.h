// Helpers for the data-parallel tests: a free local TCP port, a tiny synthetic token split, and
// hld-train processes started by hand with the torchrun variables.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "hld/data/shards.h"
#include "hld/util/fs.h"

namespace hld::dist::testing {

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

/// Writes a training split of `docs` documents with ids in [4, vocab) into `dir` (the split
/// directory itself) from a fixed formula, so every run sees the same tokens.
inline void write_synthetic_split(const std::string& dir, int64_t vocab, int docs) {
  data::ShardWriter w(dir, "train", "0123456789abcdef", vocab, /*eos_id=*/1, /*shard_tokens=*/4096,
                      [] { return nlohmann::json::object(); });
  for (int d = 0; d < docs; ++d) {
    std::vector<int32_t> ids;
    const int len = 20 + (d * 53) % 90;
    // A learnable pattern (each token mostly predicts the next) plus document-specific noise.
    int32_t x = static_cast<int32_t>(4 + (d * 31) % (vocab - 4));
    for (int k = 0; k < len; ++k) {
      ids.push_back(x);
      x = static_cast<int32_t>(4 + ((x - 4) * 7 + 3 + ((k * d) % 5 == 0 ? d % 11 : 0)) % (vocab - 4));
    }
    w.add_document(ids, "synthetic");
  }
  w.finish({{"note", "synthetic data-parallel test split"}});
}

#ifdef HLD_TRAIN_BIN
/// A started `sh -c "exec [PREFIX] env VARS hld-train ARGS > LOG 2>&1"`; the pid is hld-train's
/// (or PREFIX's, which execs it: `ip netns exec NS`).
struct Proc {
  pid_t pid = -1;
  std::string log;
  int status = -1;  ///< exit code once reaped (-2: killed by a signal)
  int signal = 0;   ///< the signal that ended it (status -2)

  Proc(const std::string& env, const std::string& args, const std::string& log_path, const std::string& prefix = "")
      : log(log_path) {
    const std::string cmd = "exec " + prefix + " env " + env + " " + HLD_TRAIN_BIN + " " + args + " > " + log + " 2>&1";
    pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Proc() {
    if (pid > 0 && status == -1) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  /// Waits up to `timeout_s`; true when the process ended (status set).
  bool wait(double timeout_s) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < end) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        status = WIFEXITED(st) ? WEXITSTATUS(st) : -2;
        signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  std::string output() const { return util::read_file(log); }
};
#endif

/// The torchrun variables of rank `rank` of `world` local processes (rendezvous on `port`).
inline std::string launch_env(int rank, int world, int port) {
  return "RANK=" + std::to_string(rank) + " WORLD_SIZE=" + std::to_string(world) +
         " LOCAL_RANK=" + std::to_string(rank) + " LOCAL_WORLD_SIZE=" + std::to_string(world) +
         " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " HLD_DIST_TIMEOUT=30";
}

}  // namespace hld::dist::testing
