// The wall-clock end of a job: run.time_limit counted from this process's start, or the batch
// system's end time (Slurm exports SLURM_JOB_END_TIME, Unix seconds), whichever comes first. The
// loops that own a unit of work stop before it, leaving the time their save takes.
#pragma once

#include <string>

namespace hld::runtime {

class Deadline {
 public:
  /// `time_limit_s` ≤ 0: no limit of its own (Slurm's end time may still apply).
  explicit Deadline(double time_limit_s);
  /// Seconds until the deadline (may be negative); a huge value when there is none.
  double seconds_left() const;
  bool limited() const { return end_epoch_s_ > 0; }
  /// What set it: "run.time_limit" or "the Slurm job's end time (SLURM_JOB_END_TIME)".
  const std::string& source() const { return source_; }

 private:
  double end_epoch_s_ = -1;  // Unix time of the deadline (-1: none)
  std::string source_;
};

/// Seconds since this process started (from /proc; 0 where it cannot be read).
double process_age_s();

}  // namespace hld::runtime
