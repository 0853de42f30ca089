// Learning-rate schedules: WSD (linear warm-up, constant, linear decay over the last fraction to
// η·final_ratio) for full training, and warm-up-then-constant for the HLDF hint phase.
#pragma once

#include <cstdint>

#include "hld/config/experiment.h"

namespace hld::train {

/// WSD learning rate for optimizer step `step` (0-based) of a phase of `total` steps.
/// Warm-up: η·(step+1)/W for step < W. Decay: the last round(decay_fraction·total) steps go
/// linearly from η to η·final_ratio, reached exactly at the last step.
double wsd_lr(int64_t step, int64_t total, double peak, const config::ScheduleConfig& s);

/// HLDF phase 1 (η_HT): linear warm-up over hint_warmup_steps, then constant, no decay.
double hint_lr(int64_t step, double peak, const config::ScheduleConfig& s);

}  // namespace hld::train
