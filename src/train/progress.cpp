// Training progress: tokens/s, MFU against the measured peak, ETA by remaining FLOPs.
#include "hld/train/progress.h"

#include "hld/util/format.h"

#include <cmath>
#include <cstdio>

namespace hld::train {

Progress::Progress(const budget::BudgetPlan& plan, double peak, bool quiet, const TrainState& start)
    : plan_(plan),
      peak_(peak),
      quiet_(quiet),
      last_(std::chrono::steady_clock::now()),
      last_tokens_(start.tokens),
      last_flops_(start.flops) {}

nlohmann::json Progress::record(const TrainState& st, const budget::PhasePlan& ph, double lr, double gnorm) {
  const auto now = std::chrono::steady_clock::now();
  const double dt = std::chrono::duration<double>(now - last_).count();
  const double dtok = last_tokens_ < 0 ? 0 : static_cast<double>(st.tokens - last_tokens_);
  const double dflops = st.flops - last_flops_;
  const double tps = dt > 0 && dtok > 0 ? dtok / dt : 0;
  const double flops_rate = dt > 0 && dtok > 0 ? dflops / dt : 0;
  last_ = now;
  last_tokens_ = st.tokens;
  last_flops_ = st.flops;
  const double eta = flops_rate > 0 ? (plan_.total_flops - st.flops) / flops_rate : -1;
  return {{"step", st.step},
          {"phase", ph.name},
          {"optim/lr", lr},
          {"optim/grad_norm", gnorm},
          {"tokens", st.tokens},
          {"flops/spent", st.flops},
          {"throughput/tokens_per_s", tps},
          {"throughput/mfu", peak_ > 0 ? flops_rate / peak_ : 0.0},
          {"time/eta_s", eta}};
}

void Progress::print(const nlohmann::json& r) const {
  if (quiet_) return;
  std::string terms;
  for (const char* k : {"nll", "kd", "hidden"}) {
    const std::string key = std::string("train/") + k;
    if (r.contains(key)) {
      char b[48];
      std::snprintf(b, sizeof b, " %s %.4f", k, r[key].get<double>());
      terms += b;
    }
  }
  const double tps = r["throughput/tokens_per_s"].get<double>();
  std::printf("step %lld/%lld %-5s | loss %.4f%s | lr %.2e | %.1fk tok/s | MFU %.1f%% | ETA %s\n",
              static_cast<long long>(r["step"].get<int64_t>()), static_cast<long long>(plan_.total_steps),
              r["phase"].get<std::string>().c_str(), r.value("train/loss", 0.0), terms.c_str(),
              r["optim/lr"].get<double>(), tps / 1000.0, 100.0 * r["throughput/mfu"].get<double>(),
              util::format_duration(r["time/eta_s"].get<double>()).c_str());
  std::fflush(stdout);
}

}  // namespace hld::train
