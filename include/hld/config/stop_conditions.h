// The run keys that end a job early with its work saved: run.exit_signals (signal names) and
// run.time_limit (a wall-clock duration). Parsed here, torch-free, so the loader validates them.
#pragma once

#include <string>
#include <vector>

namespace hld::config {

/// "SIGTERM,SIGINT,SIGUSR1" (names with or without "SIG", case-insensitive, comma-separated) →
/// signal numbers; "none" or "" → {}. InputError naming `key` for an unknown or uncatchable signal.
std::vector<int> parse_exit_signals(const std::string& text, const std::string& key);

/// "23h50m", "90m", "1d2h", "3600s", "3600" (seconds), "1.5h" → seconds; "none" or "" → -1.
/// InputError naming `key` for anything else or a duration that is not positive.
double parse_duration_s(const std::string& text, const std::string& key);

/// "SIGTERM", "SIGUSR1", ... for the signals parse_exit_signals accepts; "signal N" else.
std::string signal_name(int sig);

}  // namespace hld::config
