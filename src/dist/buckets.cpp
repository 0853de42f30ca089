// Gradient bucket planning, flattening and copy-back (see buckets.h).
#include "hld/dist/buckets.h"

#include <stdexcept>

namespace hld::dist {

std::vector<Bucket> plan_buckets(const std::vector<torch::Tensor>& tensors, int64_t cap_bytes) {
  std::vector<Bucket> out;
  torch::Device open_device(torch::kCPU);
  int64_t open_bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (!t.defined()) continue;
    const int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
    const bool fits = !out.empty() && out.back().dtype == t.scalar_type() && open_device == t.device() &&
                      open_bytes + bytes <= cap_bytes;
    if (!fits) {
      out.emplace_back();
      out.back().dtype = t.scalar_type();
      open_device = t.device();
      open_bytes = 0;
    }
    out.back().members.push_back(i);
    out.back().numel += t.numel();
    open_bytes += bytes;
  }
  return out;
}

torch::Tensor flatten_bucket(const std::vector<torch::Tensor>& tensors, const Bucket& b, const torch::Device& device) {
  auto flat_N = torch::empty({b.numel}, torch::TensorOptions().dtype(b.dtype).device(device));
  int64_t off = 0;
  for (size_t i : b.members) {
    const auto& t = tensors[i];
    flat_N.narrow(0, off, t.numel()).copy_(t.reshape({-1}));
    off += t.numel();
  }
  if (off != b.numel) throw std::logic_error("[flatten_bucket] bucket does not match its tensors");
  return flat_N;
}

void unflatten_bucket(const torch::Tensor& flat_N, std::vector<torch::Tensor>& tensors, const Bucket& b) {
  int64_t off = 0;
  for (size_t i : b.members) {
    auto& t = tensors[i];
    t.copy_(flat_N.narrow(0, off, t.numel()).view(t.sizes()));
    off += t.numel();
  }
}

}  // namespace hld::dist
