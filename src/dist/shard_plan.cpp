// ZeRO-1 partition (see shard_plan.h).
#include "hld/dist/shard_plan.h"

#include <algorithm>
#include <stdexcept>

namespace hld::dist {

ShardPlan plan_shards(const std::vector<torch::Tensor>& tensors, int world, int64_t cap_bytes, int64_t align) {
  if (world < 1 || align < 1) throw std::invalid_argument("[plan_shards] world and align must be positive");
  ShardPlan plan;
  plan.world = world;
  plan.buckets = plan_buckets(tensors, cap_bytes);
  plan.ranges.assign(static_cast<size_t>(world), std::vector<SliceRange>(tensors.size()));
  for (const auto& b : plan.buckets) {
    // Offsets of the bucket's tensors in its flat space.
    std::vector<int64_t> off;
    int64_t n = 0;
    for (size_t i : b.members) off.push_back(n), n += tensors[i].numel();
    // Nominal cuts k·⌈n/W⌉, moved down to an aligned offset inside the tensor they fall in.
    const int64_t chunk = (n + world - 1) / world;
    std::vector<int64_t> cut(static_cast<size_t>(world) + 1);
    for (int k = 0; k <= world; ++k) {
      int64_t c = std::min(n, static_cast<int64_t>(k) * chunk);
      if (c > 0 && c < n) {
        size_t j = std::upper_bound(off.begin(), off.end(), c) - off.begin() - 1;
        c = off[j] + (c - off[j]) / align * align;
      }
      cut[k] = k == 0 ? 0 : std::max(cut[k - 1], c);
    }
    cut[world] = n;
    std::vector<int64_t> piece(static_cast<size_t>(world), 0);
    for (int r = 0; r < world; ++r) {
      for (size_t m = 0; m < b.members.size(); ++m) {
        const int64_t t0 = off[m], t1 = off[m] + tensors[b.members[m]].numel();
        const int64_t lo = std::max(t0, cut[r]), hi = std::min(t1, cut[r + 1]);
        if (hi > lo) plan.ranges[r][b.members[m]] = {lo - t0, hi - lo};
      }
      piece[r] = cut[r + 1] - cut[r];
    }
    plan.piece.push_back(piece);
  }
  return plan;
}

}  // namespace hld::dist
