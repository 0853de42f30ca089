// Helpers for the data-parallel tests: a free local TCP port and a tiny synthetic token split.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "hld/data/shards.h"

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

}  // namespace hld::dist::testing
