// Human-readable numbers for progress lines and messages.
#pragma once

#include <string>

namespace hld::util {

/// "1h02m", "3m05s", "12s"; "?" for a negative or non-finite value.
std::string format_duration(double seconds);

/// `v` with `digits` significant digits, printf's %g ("0.0004", "1e-09", "0.9"): how configs'
/// hyper-parameters are shown and compared.
std::string format_g(double v, int digits = 6);

}  // namespace hld::util
