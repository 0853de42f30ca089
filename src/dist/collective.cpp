// from_environment: one process → the no-op Collective; several → a c10d process group on the
// rank's device, with CPU threads split between the processes that share a node.
#include "hld/dist/collective.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>

#include "hld/dist/launch_env.h"
#include "hld/dist/process_group.h"
#include "hld/runtime/runtime.h"
#include "hld/util/error.h"

namespace hld::dist {

torch::Device rank_device(const torch::Device& requested, int local_rank, int world) {
  if (!requested.is_cuda() || world <= 1) return requested;
  const int n = static_cast<int>(torch::cuda::device_count());
  if (n <= 1) return torch::Device(torch::kCUDA, 0);  // one visible GPU per process (CUDA_VISIBLE_DEVICES)
  HLD_INPUT_CHECK(local_rank < n, "LOCAL_RANK=" + std::to_string(local_rank) + ": only " + std::to_string(n) +
                                      " CUDA devices are visible on this node (one process per GPU)");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
}

bool Collective::all_equal(int64_t x) {
  if (world() <= 1) return true;
  std::vector<torch::Tensor> x0 = {torch::full({1}, x, torch::TensorOptions().dtype(torch::kInt64))};
  broadcast(x0);
  return allreduce_sum(x0[0].item<int64_t>() == x ? 0.0 : 1.0) == 0.0;
}

std::unique_ptr<Collective> from_environment(const torch::Device& device) {
  const LaunchEnv env = read_launch_env();
  if (!env.distributed()) return std::make_unique<Collective>();
  const torch::Device dev = rank_device(device, env.local_rank, env.world);
  if (dev.is_cpu() && !std::getenv("OMP_NUM_THREADS")) {
    // Processes on one node share its cores: each takes its share unless the config or
    // OMP_NUM_THREADS says otherwise (run.threads > 0 is applied later by the trainer).
    const int share = std::max(1, runtime::usable_cpus() / std::max(1, env.local_world_known ? env.local_world : 1));
    torch::set_num_threads(share);
  }
  return std::make_unique<ProcessGroupCollective>(env, dev);
}

}  // namespace hld::dist
