// Deterministic fault points for the crash tests: named places in the writers (after a
// checkpoint's model file, before its state.json rename, at HLDF's phase boundary, ...) where a
// test can make the process die or wait, so that every case a crash test claims is really hit.
// Driven by the environment, read once; without HLD_FAULT a fault point is one relaxed load.
#pragma once

namespace hld::util {

/// When HLD_FAULT is `point` (or `point:pause`) and this is its HLD_FAULT_HIT-th pass (default 1):
/// SIGKILLs this process at once, or with `:pause` creates the file named by HLD_FAULT_MARK and
/// sleeps up to 120 s (the test then signals or kills the process). Otherwise nothing.
void fault_point(const char* point);

}  // namespace hld::util
