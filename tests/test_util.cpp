// Test helpers (see test_util.h).
#include "test_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>

namespace hld::test {

std::string shared_artifact(const std::string& name, const std::function<void(const std::string&)>& builder) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(HLD_TEST_ARTIFACTS);
  fs::create_directories(root);
  const fs::path dir = root / name;
  if (fs::exists(dir / ".done")) return dir.string();
  const std::string lock = (root / (name + ".lock")).string();
  int fd = ::open(lock.c_str(), O_CREAT | O_RDWR, 0644);
  ::flock(fd, LOCK_EX);
  if (!fs::exists(dir / ".done")) {
    const fs::path tmp = root / (name + ".building");
    fs::remove_all(tmp);
    fs::remove_all(dir);
    fs::create_directories(tmp);
    builder(tmp.string());
    ::close(::open((tmp / ".done").c_str(), O_CREAT | O_WRONLY, 0644));
    fs::rename(tmp, dir);
  }
  ::flock(fd, LOCK_UN);
  ::close(fd);
  return dir.string();
}

CommandResult run_command(const std::string& cmd) {
  CommandResult r{-1, ""};
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace hld::test
