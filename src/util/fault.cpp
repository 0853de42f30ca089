// Fault points for crash tests (see fault.h).
#include "hld/util/fault.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace hld::util {
namespace {

struct FaultSpec {
  std::string point;  // "" when HLD_FAULT is unset
  bool pause = false;
  long hit = 1;
  std::atomic<long> passes{0};
};

FaultSpec& spec() {
  static FaultSpec* s = [] {
    auto* f = new FaultSpec;
    if (const char* e = std::getenv("HLD_FAULT")) {
      f->point = e;
      const size_t colon = f->point.rfind(':');
      if (colon != std::string::npos && f->point.substr(colon) == ":pause") {
        f->pause = true;
        f->point.resize(colon);
      }
    }
    if (const char* h = std::getenv("HLD_FAULT_HIT")) f->hit = std::max(1L, std::strtol(h, nullptr, 10));
    return f;
  }();
  return *s;
}

}  // namespace

void fault_point(const char* point) {
  FaultSpec& f = spec();
  if (f.point.empty() || f.point != point || ++f.passes != f.hit) return;
  std::fprintf(stderr, "[fault] %s: %s (HLD_FAULT)\n", point, f.pause ? "pausing" : "SIGKILL");
  std::fflush(stderr);
  if (!f.pause) ::kill(::getpid(), SIGKILL);
  if (const char* mark = std::getenv("HLD_FAULT_MARK"))
    if (std::FILE* m = std::fopen(mark, "w")) std::fclose(m);
  std::this_thread::sleep_for(std::chrono::seconds(120));
}

}  // namespace hld::util
