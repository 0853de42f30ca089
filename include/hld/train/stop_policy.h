// When a training run stops before its budget: on a caught signal (runtime/stop_signals.h) or
// before its wall-clock deadline (runtime/deadline.h), leaving the time a checkpoint takes. Every
// rank asks after each optimizer step and all of them get one answer, so they stop at one step.
#pragma once

#include <string>

#include "hld/config/experiment.h"
#include "hld/dist/collective.h"
#include "hld/runtime/deadline.h"

namespace hld::train {

class StopPolicy {
 public:
  /// `checkpoint_bytes`: what a checkpoint writes, for the save-time estimate before the first save.
  StopPolicy(const config::RunConfig& run, double checkpoint_bytes);

  /// After each optimizer step, on every rank: this rank's reason to stop (a caught signal, or the
  /// deadline closer than the reserve) joined over the ranks with one scalar all-reduce. "" to go
  /// on; otherwise the same on every rank ("SIGTERM", "the time limit (run.time_limit)", ...).
  std::string agree(dist::Collective& coll, double step_s);

  /// How long the last checkpoint took (the reserve is measured from it).
  void saved(double seconds) { save_s_ = seconds; }

  /// Seconds kept free before the deadline: twice the last save (an estimate at 100 MB/s before the
  /// first one) plus two of the latest steps, plus one second.
  double reserve_s() const;

 private:
  runtime::Deadline deadline_;
  double save_s_;
  double step_s_ = 0;
};

}  // namespace hld::train
