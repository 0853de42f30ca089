// Throughput, MFU and ETA bookkeeping for the training loop, and its terminal progress line.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>

#include "hld/budget/plan.h"
#include "hld/train/checkpoint.h"

namespace hld::train {

class Progress {
 public:
  /// `start`: the state the loop starts from (a resumed run's), so the first record has a rate too.
  Progress(const budget::BudgetPlan& plan, double peak_flops, bool quiet, const TrainState& start);
  /// A metrics record for the step just finished (timing since the previous record).
  nlohmann::json record(const TrainState& st, const budget::PhasePlan& ph, double lr, double grad_norm);
  /// "step 120/500 kd | loss 3.41 nll 3.60 kd 0.81 | lr 4.0e-04 | 12.3k tok/s | MFU 41% | ETA 2m10s"
  void print(const nlohmann::json& rec) const;

 private:
  const budget::BudgetPlan& plan_;
  double peak_;
  bool quiet_;
  std::chrono::steady_clock::time_point last_;
  int64_t last_tokens_ = -1;
  double last_flops_ = 0;
};

}  // namespace hld::train
