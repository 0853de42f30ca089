// run.exit_signals and run.time_limit (see stop_conditions.h).
#include "hld/config/stop_conditions.h"

#include <csignal>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "hld/util/error.h"

namespace hld::config {
namespace {

/// The signals a run may be told to stop on: the ones schedulers send (Slurm's --signal, a
/// Kubernetes preStop, Ctrl-C, a CPU-time limit). SIGKILL and SIGSTOP cannot be caught, SIGCONT
/// comes before every scancel's SIGTERM, SIGALRM and SIGPIPE belong to libraries.
const std::pair<const char*, int> kSignals[] = {{"TERM", SIGTERM}, {"INT", SIGINT}, {"USR1", SIGUSR1},
                                                {"USR2", SIGUSR2}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT},
                                                {"XCPU", SIGXCPU}};

std::string trim_upper(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  s = s.substr(i);
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<int> parse_exit_signals(const std::string& text, const std::string& key) {
  std::vector<int> out;
  const std::string all = trim_upper(text);
  if (all.empty() || all == "NONE") return out;
  size_t start = 0;
  for (;;) {
    const size_t comma = all.find(',', start);
    std::string name = trim_upper(all.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    int sig = 0;
    for (const auto& [n, s] : kSignals)
      if (name == n) sig = s;
    if (sig == 0) {
      std::string names;
      for (const auto& kv : kSignals) names += std::string(names.empty() ? "" : ", ") + "SIG" + kv.first;
      throw InputError(key + " = '" + text + "': '" + name + "' is not a signal a run can stop on (expected a " +
                       "comma-separated list of " + names + ", or none)");
    }
    bool seen = false;
    for (int s : out) seen |= s == sig;
    if (!seen) out.push_back(sig);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

double parse_duration_s(const std::string& text, const std::string& key) {
  const std::string t = trim_upper(text);
  if (t.empty() || t == "NONE") return -1;
  auto bad = [&](const std::string& why) {
    return InputError(key + " = '" + text + "': " + why +
                      " (expected a duration such as 23h50m, 90m, 1d2h, 3600s or 3600, or none)");
  };
  double total = 0;
  size_t i = 0;
  std::string last_unit = "-";
  static const std::string kOrder = "DHMS";
  while (i < t.size()) {
    const char* begin = t.c_str() + i;
    char* end = nullptr;
    const double v = std::strtod(begin, &end);
    if (end == begin || !std::isfinite(v) || v < 0 || *begin == '+' || *begin == '-') throw bad("not a number");
    i += static_cast<size_t>(end - begin);
    char unit = i < t.size() ? t[i] : 'S';
    if (i < t.size()) ++i;
    const size_t rank = kOrder.find(unit);
    if (rank == std::string::npos)
      throw bad(std::string("unknown unit '") + static_cast<char>(std::tolower(unit)) + "'");
    if (last_unit != "-" && rank <= kOrder.find(last_unit[0])) throw bad("units out of order or repeated");
    last_unit = std::string(1, unit);
    total += v * (unit == 'D' ? 86400.0 : unit == 'H' ? 3600.0 : unit == 'M' ? 60.0 : 1.0);
  }
  if (!(total > 0)) throw bad("not a positive duration");
  return total;
}

std::string signal_name(int sig) {
  for (const auto& [n, s] : kSignals)
    if (s == sig) return std::string("SIG") + n;
  return "signal " + std::to_string(sig);
}

}  // namespace hld::config
