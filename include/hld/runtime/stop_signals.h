// Stop requests from the scheduler: the signals of run.exit_signals (Slurm's SIGTERM or
// `--signal=USR1@120`, Kubernetes' SIGTERM, Ctrl-C) are caught once; the first one only records
// itself, and the loops that own a unit of work (the training step, a cache chunk) poll it, finish
// that unit, save and exit with kExitRequeue. A second one ends the process at once with the
// signal's default action: whatever was being written stays a temporary file that the next run
// discards, and the last complete checkpoint or chunk stays the valid one.
#pragma once

#include <vector>

namespace hld::runtime {

/// Catches `signals` (config::parse_exit_signals) from now on: they are blocked in this thread and
/// in the threads it starts later (so no system call of a worker is interrupted) and taken by one
/// watcher thread; a handler covers threads that existed before. Call once, early, from main's
/// thread; an empty list installs nothing.
void install_stop_signals(const std::vector<int>& signals);

/// The first caught signal (0: none yet).
int stop_signal();

}  // namespace hld::runtime
