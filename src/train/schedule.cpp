// WSD and hint-phase learning-rate schedules.
#include "hld/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace hld::train {

double wsd_lr(int64_t step, int64_t total, double peak, const config::ScheduleConfig& s) {
  const int64_t decay = static_cast<int64_t>(std::llround(s.decay_fraction * static_cast<double>(total)));
  const int64_t decay_start = total - decay;
  double lr = peak;
  if (s.warmup_steps > 0 && step < s.warmup_steps)
    lr = peak * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  if (decay > 0 && step >= decay_start) {
    const double progress = static_cast<double>(step - decay_start + 1) / static_cast<double>(decay);
    lr = std::min(lr, peak * (1.0 - std::min(progress, 1.0) * (1.0 - s.final_lr_ratio)));
  }
  return lr;
}

double hint_lr(int64_t step, double peak, const config::ScheduleConfig& s) {
  if (s.hint_warmup_steps > 0 && step < s.hint_warmup_steps)
    return peak * static_cast<double>(step + 1) / static_cast<double>(s.hint_warmup_steps);
  return peak;
}

}  // namespace hld::train
