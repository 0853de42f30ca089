// Stopping a run early with a checkpoint (see stop_policy.h).
#include "hld/train/stop_policy.h"

#include "hld/config/stop_conditions.h"
#include "hld/runtime/stop_signals.h"

namespace hld::train {

StopPolicy::StopPolicy(const config::RunConfig& run, double checkpoint_bytes)
    : deadline_(config::parse_duration_s(run.time_limit, "run.time_limit")), save_s_(checkpoint_bytes / 100e6) {}

double StopPolicy::reserve_s() const { return 2 * save_s_ + 2 * step_s_ + 1.0; }

std::string StopPolicy::agree(dist::Collective& coll, double step_s) {
  step_s_ = step_s;
  std::string mine;
  if (const int sig = runtime::stop_signal())
    mine = config::signal_name(sig);
  else if (deadline_.limited() && deadline_.seconds_left() < reserve_s())
    mine = "the time limit (" + deadline_.source() + ")";
  if (coll.world() == 1) return mine;
  const double stopping = coll.allreduce_sum(mine.empty() ? 0.0 : 1.0);  // the one collective
  if (stopping == 0) return "";
  return mine.empty() ? "another rank's stop request" : mine;
}

}  // namespace hld::train
