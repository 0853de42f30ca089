// Gradient buckets for data-parallel all-reduce: consecutive tensors of one dtype and device are
// packed into flat buffers of about `cap_bytes` (25 MiB by default, as in PyTorch DDP), so a
// step makes a few large collectives instead of one per parameter. The plan depends only on the
// tensors' shapes, dtypes and order, so every rank builds the same buckets.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace hld::dist {

struct Bucket {
  std::vector<size_t> members;  ///< indices into the planned tensor list, in order
  int64_t numel = 0;            ///< total elements of the flat buffer
  at::ScalarType dtype = at::kFloat;
};

/// Greedy, order-preserving: a tensor joins the open bucket when it has the bucket's dtype and
/// device and the bucket stays within cap_bytes; a tensor larger than the cap gets a bucket of
/// its own. Undefined tensors are skipped.
std::vector<Bucket> plan_buckets(const std::vector<torch::Tensor>& tensors, int64_t cap_bytes);

/// The bucket's tensors concatenated into one contiguous 1-D buffer on `device`.
torch::Tensor flatten_bucket(const std::vector<torch::Tensor>& tensors, const Bucket& b, const torch::Device& device);

/// Copies `flat_N` back into the bucket's tensors (in place, converting device if needed).
void unflatten_bucket(const torch::Tensor& flat_N, std::vector<torch::Tensor>& tensors, const Bucket& b);

}  // namespace hld::dist
