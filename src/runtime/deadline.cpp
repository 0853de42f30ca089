// A job's wall-clock deadline (see deadline.h).
#include "hld/runtime/deadline.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hld::runtime {
namespace {

double now_epoch_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

double process_age_s() {
  // Field 22 of /proc/self/stat is the start time in clock ticks after boot; /proc/uptime is now.
  std::ifstream stat("/proc/self/stat"), up("/proc/uptime");
  std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  double uptime = 0;
  const size_t close = s.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos || !(up >> uptime)) return 0;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i)
    if (i == 22) {
      const double started = std::strtod(field.c_str(), nullptr) / double(::sysconf(_SC_CLK_TCK));
      return uptime > started ? uptime - started : 0;
    }
  return 0;
}

Deadline::Deadline(double time_limit_s) {
  const double now = now_epoch_s();
  if (time_limit_s > 0) {
    end_epoch_s_ = now - process_age_s() + time_limit_s;
    source_ = "run.time_limit";
  }
  if (const char* e = std::getenv("SLURM_JOB_END_TIME")) {
    char* end = nullptr;
    const double slurm = std::strtod(e, &end);
    if (end != e && *end == '\0' && slurm > now && (end_epoch_s_ < 0 || slurm < end_epoch_s_)) {
      end_epoch_s_ = slurm;
      source_ = "the Slurm job's end time (SLURM_JOB_END_TIME)";
    }
  }
}

double Deadline::seconds_left() const { return end_epoch_s_ > 0 ? end_epoch_s_ - now_epoch_s() : 1e18; }

}  // namespace hld::runtime
