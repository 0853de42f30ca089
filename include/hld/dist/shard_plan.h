// ZeRO-1 partition of a parameter list: the tensors are packed into flat buckets exactly like the
// gradient all-reduce (buckets.h), and each bucket's flat range is cut into one contiguous piece
// per rank, so every rank owns about 1/W of every bucket. Cuts fall on multiples of `align`
// elements inside the tensor they split: an elementwise kernel then sees each element at the same
// vector-lane position as on the whole tensor, so sliced updates round exactly like full ones.
// The plan depends only on shapes, dtypes, order and the world size: every rank builds the same.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "hld/dist/buckets.h"

namespace hld::dist {

/// Elements [begin, begin + count) of a tensor's flattened view.
struct SliceRange {
  int64_t begin = 0;
  int64_t count = 0;
};

struct ShardPlan {
  int world = 1;
  std::vector<Bucket> buckets;
  /// ranges[r][i]: rank r's slice of tensor i (count 0 when it owns none of it).
  std::vector<std::vector<SliceRange>> ranges;
  /// piece[b][r]: elements rank r owns in bucket b (the sum of its slices of the bucket's tensors).
  std::vector<std::vector<int64_t>> piece;
};

/// The partition of `tensors` over `world` ranks with buckets of about `cap_bytes`.
ShardPlan plan_shards(const std::vector<torch::Tensor>& tensors, int world, int64_t cap_bytes, int64_t align = 64);

}  // namespace hld::dist
