// Test helpers (see test_util.h).
#include "test_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <thread>
#include <tuple>

#include "hld/util/fs.h"

namespace hld::test {

namespace {

/// What identifies a binary for the artifact keys: its size and modification time (a relink
/// changes both; hashing ~200 MB per test process would not pay).
std::string binary_stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path + ":missing";
  return path + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

std::string repo_file(const std::string& rel) { return util::read_file(repo_path(rel)); }

std::string shared_artifact(const std::string& name, const std::string& inputs,
                            const std::function<void(const std::string&)>& builder) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(HLD_TEST_ARTIFACTS);
  fs::create_directories(root);
#ifdef HLD_TRAIN_BIN
  const std::string binaries = binary_stamp("/proc/self/exe") + "\n" + binary_stamp(HLD_TRAIN_BIN);
#else
  const std::string binaries = binary_stamp("/proc/self/exe");
#endif
  const std::string key = util::hex64(util::fnv1a64(inputs + "\n" + binaries));
  const fs::path dir = root / (name + "-" + key);
  if (fs::exists(dir / ".done")) return dir.string();
  const std::string lock = (root / (name + ".lock")).string();
  int fd = ::open(lock.c_str(), O_CREAT | O_RDWR, 0644);
  ::flock(fd, LOCK_EX);
  bool built = fs::exists(dir / ".done");
  if (!built) {
    // Earlier keys of this artifact: exactly <name>-<16 hex digits>, so that an artifact whose name
    // merely starts with this one's (another test process may be reading it) is never removed.
    for (const auto& e : fs::directory_iterator(root)) {
      const std::string f = e.path().filename().string();
      if (e.is_directory() && f.size() == name.size() + 17 && f.rfind(name + "-", 0) == 0 &&
          f.find_first_not_of("0123456789abcdef", name.size() + 1) == std::string::npos)
        fs::remove_all(e.path());
    }
    const fs::path tmp = root / (name + ".building");
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    const bool failed_before = ::testing::Test::HasFailure();
    builder(tmp.string());
    if (!failed_before && !::testing::Test::HasFailure()) {
      ::close(::open((tmp / ".done").c_str(), O_CREAT | O_WRONLY, 0644));
      fs::rename(tmp, dir);
      built = true;
    } else {
      fs::remove_all(tmp);
    }
  }
  ::flock(fd, LOCK_UN);
  ::close(fd);
  if (!built) ADD_FAILURE() << "building the shared test artifact " << name << " failed (see above)";
  return dir.string();
}

std::map<std::string, std::string> read_dir_files(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    out[e.path().filename().string()].assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
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

SmallFs::SmallFs(uint64_t bytes) {
  std::string tmpl = (std::filesystem::path(::testing::TempDir()) / "hld-fs-XXXXXX").string();
  path_ = ::mkdtemp(tmpl.data());
  const std::string opts = "size=" + std::to_string(bytes);
  // HLD_TEST_NO_MOUNT=1 exercises the file-size-limit fallback where mounting would work.
  mounted_ = !std::getenv("HLD_TEST_NO_MOUNT") && ::mount("tmpfs", path_.c_str(), "tmpfs", 0, opts.c_str()) == 0;
}

SmallFs::~SmallFs() {
  if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void SmallFs::fill(uint64_t leave) {
  struct statvfs s {};
  ASSERT_EQ(::statvfs(path_.c_str(), &s), 0);
  const uint64_t free = uint64_t(s.f_bavail) * s.f_frsize;
  ASSERT_GT(free, leave);
  const int fd = ::open((path_ + "/.filler").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ASSERT_GE(fd, 0);
  std::vector<char> zeros(1 << 16, 0);
  for (uint64_t left = free - leave; left > 0;) {
    const ssize_t w = ::write(fd, zeros.data(), std::min<uint64_t>(left, zeros.size()));
    if (w <= 0) break;
    left -= uint64_t(w);
  }
  ::close(fd);
}

void SmallFs::drain() { std::filesystem::remove(path_ + "/.filler"); }

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::vector<double> kill_delays(double t_s, int n, unsigned seed, double lo, double hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo * t_s, hi * t_s);
  std::vector<double> d;
  for (int i = 0; i < n; ++i) d.push_back(u(rng));
  return d;
}

namespace {

// One run of `cmd` in a new process group, output to `log`; killed after `delay_s` (< 0: never).
// Returns the wait status and whether it was killed.
std::pair<int, bool> run_once(const std::string& cmd, const std::string& log, double delay_s) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  const double t0 = now_s();
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return {status, false};
    if (delay_s >= 0 && now_s() - t0 >= delay_s) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return {status, true};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

KillRun run_with_kills(const std::string& cmd, const std::vector<double>& delays_s) {
  KillRun r;
  const std::string log =
      std::filesystem::path(::testing::TempDir()) / ("kill-run-" + std::to_string(::getpid()) + ".log");
  int status = 0;
  bool killed = true;
  for (size_t i = 0; killed; ++i) {
    std::tie(status, killed) = run_once(cmd, log, i < delays_s.size() ? delays_s[i] : -1.0);
    r.kills += killed;
  }
  r.final.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(log);
  r.final.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::filesystem::remove(log);
  return r;
}

}  // namespace hld::test
