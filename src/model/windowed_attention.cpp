// Sliding-window attention without a (T, T) mask (see hld/model/windowed_attention.h): the flash
// kernel's window, checked once against the reference, else blocked attention over query tiles.
#include "hld/model/windowed_attention.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <tuple>

#include "hld/model/attention.h"
#include "hld/compat/torch.h"

namespace hld::model {

torch::Tensor masked_attention(const torch::Tensor& q_NxCxLxD, const torch::Tensor& k_NxCxSxD,
                               const torch::Tensor& v_NxCxSxD, const torch::Tensor& allowed_LxS, double scale) {
  return compat::sdpa(q_NxCxLxD, k_NxCxSxD, v_NxCxSxD, allowed_LxS, scale, /*is_causal=*/false);
}

torch::Tensor banded_attention(const torch::Tensor& q_BxHxTxD, const torch::Tensor& k_BxKxTxD,
                               const torch::Tensor& v_BxKxTxD, int64_t window, double scale) {
  TORCH_CHECK(window > 0, "banded_attention: window must be positive");
  const int64_t B = q_BxHxTxD.size(0), H = q_BxHxTxD.size(1), T = q_BxHxTxD.size(2), D = q_BxHxTxD.size(3);
  const int64_t KV = k_BxKxTxD.size(1), G = H / KV, W = window;
  TORCH_CHECK(G * KV == H, "banded_attention: query heads must be a multiple of the KV heads");
  const auto dev = q_BxHxTxD.device();
  // Head h uses KV head h / G (repeat_kv order): the G query heads of a KV head become G blocks of
  // query rows against the same keys, so K and V are never repeated.
  const auto q_BxKxGxTxD = q_BxHxTxD.reshape({B, KV, G, T, D});

  // Tile 0, queries [0, W0): the window cannot reach below key 0 there, so it is plain causal.
  const int64_t W0 = std::min(W, T);
  const auto q0_BxKxGW0xD = q_BxKxGxTxD.narrow(3, 0, W0).reshape({B, KV, G * W0, D});
  const auto causal_GW0xW0 = attention_mask(W0, 0, dev).repeat({G, 1});
  const auto out0_BxKxGxW0xD =
      masked_attention(q0_BxKxGW0xD, k_BxKxTxD.narrow(2, 0, W0), v_BxKxTxD.narrow(2, 0, W0), causal_GW0xW0, scale)
          .reshape({B, KV, G, W0, D});
  if (T <= W) return out0_BxKxGxW0xD.reshape({B, H, T, D});

  // Tiles i = 1 .. n−1, queries [iW, iW + W), keys [(i−1)W, (i+1)W): query row a of a tile is
  // position iW + a, key b of its band is (i−1)W + b, so b is visible iff a < b ≤ a + W, the same
  // (W, 2W) mask for every tile. The sequence is padded with zeros to n·W: a padded key (≥ T) is
  // visible only to padded queries, whose rows are cut; every row sees W keys, none is empty.
  const int64_t n = (T + W - 1) / W, Tp = n * W;
  const auto q_BxKxGxTpxD = torch::constant_pad_nd(q_BxKxGxTxD, {0, 0, 0, Tp - T});
  const auto qr_NxRxGWxD = q_BxKxGxTpxD.narrow(3, W, Tp - W)
                               .reshape({B, KV, G, n - 1, W, D})
                               .permute({0, 1, 3, 2, 4, 5})
                               .reshape({B * KV, n - 1, G * W, D});
  auto band = [&](const torch::Tensor& x_BxKxTxD) {  // → (B·KV, n−1, 2W, D), overlapping windows
    return torch::constant_pad_nd(x_BxKxTxD, {0, 0, 0, Tp - T})
        .unfold(2, 2 * W, W)  // (B, KV, n−1, D, 2W)
        .transpose(-1, -2)
        .reshape({B * KV, n - 1, 2 * W, D});
  };
  const auto a_Wx1 = torch::arange(W, torch::TensorOptions().dtype(torch::kInt64).device(dev)).unsqueeze(1);
  const auto b_1x2W = torch::arange(2 * W, torch::TensorOptions().dtype(torch::kInt64).device(dev)).unsqueeze(0);
  const auto band_GWx2W = ((b_1x2W > a_Wx1) & (b_1x2W <= a_Wx1 + W)).repeat({G, 1});
  const auto outr_BxKxGxRWxD = masked_attention(qr_NxRxGWxD, band(k_BxKxTxD), band(v_BxKxTxD), band_GWx2W, scale)
                                   .reshape({B, KV, n - 1, G, W, D})
                                   .permute({0, 1, 3, 2, 4, 5})
                                   .reshape({B, KV, G, (n - 1) * W, D});
  return torch::cat({out0_BxKxGxW0xD, outr_BxKxGxRWxD}, 3).narrow(3, 0, T).reshape({B, H, T, D});
}

namespace {

/// A deterministic probe input that draws nothing from the global generator: sin of an index ramp.
torch::Tensor probe_input(const std::vector<int64_t>& shape, double freq, const torch::TensorOptions& o) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return torch::sin(torch::arange(n, o) * freq).view(shape);
}

double rel_err(const torch::Tensor& a, const torch::Tensor& ref) {
  const auto r = ref.detach().to(torch::kFloat64);
  return ((a.detach().to(torch::kFloat64) - r).abs().max() / (r.abs().max() + 1e-12)).item<double>();
}

/// Flash's window against eager_attention in float64 on the same rounded inputs, forward and
/// gradients, T = 53 over W = 16 (four tiles, the last partial) with GQA 2:1. A kernel without
/// the window would attend to every earlier key and miss by O(1).
bool flash_window_matches(const torch::Device& dev, at::ScalarType dt, int64_t D) {
  const int64_t T = 53, W = 16, H = 2, KV = 1;
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  try {
    c10::InferenceMode not_inference(false);
    torch::AutoGradMode grad(true);
    const auto o64 = torch::TensorOptions().dtype(torch::kFloat64).device(dev);
    auto q = (probe_input({1, T, H, D}, 0.731, o64) * 3).to(dt).requires_grad_(true);
    auto k = (probe_input({1, T, KV, D}, 1.377, o64) * 3).to(dt).requires_grad_(true);
    auto v = probe_input({1, T, KV, D}, 0.519, o64).to(dt).requires_grad_(true);
    const auto r_BxTxHxD = probe_input({1, T, H, D}, 0.287, o64);
    auto out = compat::flash_window_attention(q, k, v, W, scale);
    (out.to(torch::kFloat64) * r_BxTxHxD).sum().backward();
    auto qr = q.detach().to(torch::kFloat64).requires_grad_(true);
    auto kr = k.detach().to(torch::kFloat64).requires_grad_(true);
    auto vr = v.detach().to(torch::kFloat64).requires_grad_(true);
    auto ref =
        eager_attention(qr.transpose(1, 2), kr.transpose(1, 2), vr.transpose(1, 2), attention_mask(T, W, dev), scale)
            .transpose(1, 2);
    (ref * r_BxTxHxD).sum().backward();
    const double errs[] = {rel_err(out, ref), rel_err(q.grad(), qr.grad()), rel_err(k.grad(), kr.grad()),
                           rel_err(v.grad(), vr.grad())};
    const double worst = *std::max_element(std::begin(errs), std::end(errs));
    if (worst < 3e-2) return true;
    spdlog::warn(
        "[attention] the flash kernel's sliding window misses the reference by {:.3g} ({} head_dim {}): "
        "blocked attention instead",
        worst, c10::toString(dt), D);
  } catch (const std::exception& e) {
    spdlog::warn("[attention] no flash sliding window ({} head_dim {}): blocked attention instead ({})",
                 c10::toString(dt), D, std::string(e.what()).substr(0, 200));
  }
  return false;
}

}  // namespace

bool flash_window_usable(const torch::Tensor& q_BxTxHxD, at::ScalarType dtype) {
  if (!q_BxTxHxD.is_cuda()) return false;
  if (dtype != torch::kBFloat16 && dtype != torch::kFloat16) return false;
  const int64_t D = q_BxTxHxD.size(-1);
  if (D % 8 != 0 || D > 256) return false;
  static std::mutex mu;
  static std::map<std::tuple<int, int, int64_t>, bool> checked;  // (device, dtype, head_dim) → passed
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_tuple(static_cast<int>(q_BxTxHxD.device().index()), static_cast<int>(dtype), D);
  auto it = checked.find(key);
  if (it == checked.end()) it = checked.emplace(key, flash_window_matches(q_BxTxHxD.device(), dtype, D)).first;
  return it->second;
}

torch::Tensor sliding_window_attention(const torch::Tensor& q_BxTxHxD, const torch::Tensor& k_BxTxKxD,
                                       const torch::Tensor& v_BxTxKxD, int64_t window, double scale) {
  const auto dt = compat::matmul_dtype(q_BxTxHxD);  // autocast's dtype while it is on
  if (flash_window_usable(q_BxTxHxD, dt))
    return compat::flash_window_attention(q_BxTxHxD.to(dt), k_BxTxKxD.to(dt), v_BxTxKxD.to(dt), window, scale);
  return banded_attention(q_BxTxHxD.transpose(1, 2), k_BxTxKxD.transpose(1, 2), v_BxTxKxD.transpose(1, 2), window,
                          scale)
      .transpose(1, 2);
}

}  // namespace hld::model
