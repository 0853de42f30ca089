// Caught stop signals (see stop_signals.h): one watcher thread in sigwait, a handler as fallback.
#include "hld/runtime/stop_signals.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

namespace hld::runtime {
namespace {

std::atomic<int> g_first{0};

/// The first signal is recorded; a second one (any of the set) gets the default action now.
/// Async-signal-safe: an atomic, signal(), pthread_sigmask() and raise().
void take(int sig) {
  int none = 0;
  if (g_first.compare_exchange_strong(none, sig)) return;
  ::signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(sig);
}

void on_signal(int sig) { take(sig); }

}  // namespace

void install_stop_signals(const std::vector<int>& signals) {
  if (signals.empty()) return;
  sigset_t set;
  sigemptyset(&set);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int s : signals) {
    sigaddset(&set, s);
    ::sigaction(s, &sa, nullptr);
  }
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every thread started from here on
  std::thread([set] {
    for (;;) {
      int sig = 0;
      if (::sigwait(&set, &sig) == 0) take(sig);
    }
  }).detach();
}

int stop_signal() { return g_first.load(); }

}  // namespace hld::runtime
