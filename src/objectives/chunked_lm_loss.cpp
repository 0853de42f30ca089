// Chunked de-embedding + NLL / top-k KD with recomputation in backward (see chunked_lm_loss.h).
//
// Per row n with logits z = h·Wᵀ, lse = logsumexp(z), lse_τ = logsumexp(z/τ), p_T the teacher's
// softmax(vals/τ) over its K kept entries, scattered to the vocabulary as p_T^sc:
//   NLL_n = lse − z_target                      ∂/∂z = softmax(z) − onehot(target)
//   KD_n  = τ² Σ_k p_T,k (log p_T,k − (z_idx_k/τ − lse_τ))
//                                              ∂/∂z = τ (softmax(z/τ) − p_T^sc)   (Σ_k p_T,k = 1)
// and the means over N rows; dL/dh = G·W, dL/dW = Gᵀ·h with G the (scaled) ∂/∂z of a chunk.
// Sampled teacher logits (teacher.logits: sampled, teacher/sampled_logits.h) take the same path
// with p_T,k = c_k / Σc (draw counts) as the weights and log p_T,k = vals_k/τ − logz_τ in the value:
//   KD_n  = τ² Σ_k (c_k/Σc) (log p_T,k − log q_k)     ∂/∂z = τ (softmax(z/τ) − (c/Σc)^sc)
// Any other divergence D(log q) of the student's log q_k = z_idx_k/τ − lse_τ (divergence.h): with
// g = ∂D/∂log q (n, K), from autograd on the chunk's small (n, K) leaf,
//   ∂(τ² D)/∂z = τ (g^sc − (Σ_k g_k) softmax(z/τ))   (forward KL: g = −p_T, Σ_k g_k = −1: the line above)
#include "hld/objectives/chunked_lm_loss.h"

#include <algorithm>

#include "hld/compat/torch.h"
#include "hld/util/error.h"

namespace hld::objectives {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::ScalarType float_type(const torch::Tensor& x) { return at::promote_types(x.scalar_type(), torch::kFloat32); }

/// One chunk's logits (n, V): the product in `cdt` (bf16 under autocast), the result in `ft`.
torch::Tensor chunk_logits(const torch::Tensor& h_nxD, const torch::Tensor& wc_VxD, at::ScalarType cdt,
                           at::ScalarType ft) {
  return torch::matmul(h_nxD.to(cdt), wc_VxD.t()).to(ft);
}

/// Rows per block of the row-wise passes over a chunk's (n, V) logits: about 1 MiB, so that the
/// several passes of one operation (max, shift, exp, sum) run over a block in the core's cache
/// instead of streaming the whole chunk through memory once each (4.8× faster for logsumexp at
/// 2048 × 4096 on 2 cores). Every operation is row-wise: the result is bitwise the same.
int64_t cache_rows(int64_t V) { return std::max<int64_t>(1, (int64_t{1} << 20) / (4 * std::max<int64_t>(1, V))); }

/// logsumexp over the last dimension of z (n, V), block by block.
torch::Tensor row_logsumexp(const torch::Tensor& z) {
  const int64_t n = z.size(0), rows = cache_rows(z.size(1));
  if (n <= rows) return torch::logsumexp(z, -1);
  auto out = torch::empty({n}, z.options());
  for (int64_t r0 = 0; r0 < n; r0 += rows) {
    const int64_t r1 = std::min(n, r0 + rows);
    out.slice(0, r0, r1).copy_(torch::logsumexp(z.slice(0, r0, r1), -1));
  }
  return out;
}

/// exp(z − lse) · coef for z (n, V), lse (n) and coef a scalar tensor or (n, 1), block by block
/// (the softmax part of ∂/∂z), into `g` (z itself, when z is not needed afterwards: no second
/// (n, V) buffer to write through memory).
torch::Tensor scaled_softmax(const torch::Tensor& z, const torch::Tensor& lse_n, const torch::Tensor& coef,
                             bool in_place = false) {
  const int64_t n = z.size(0), rows = cache_rows(z.size(1));
  auto g = in_place && z.is_contiguous() ? z : torch::empty_like(z, torch::MemoryFormat::Contiguous);
  for (int64_t r0 = 0; r0 < n; r0 += rows) {
    const int64_t r1 = std::min(n, r0 + rows);
    auto gb = g.slice(0, r0, r1);
    at::sub_out(gb, z.slice(0, r0, r1), lse_n.slice(0, r0, r1).unsqueeze(1));
    gb.exp_().mul_(coef.dim() == 0 ? coef : coef.slice(0, r0, r1));
  }
  return g;
}

/// NLL_n = lse_n − z_target per row of a chunk.
torch::Tensor row_nll(const torch::Tensor& z_nxV, const torch::Tensor& lse_n, const torch::Tensor& targets_n) {
  return lse_n - z_nxV.gather(1, targets_n.unsqueeze(1)).squeeze(1);
}

/// The spec as saved in an autograd context (IValues), and back.
void save_spec(AutogradContext* ctx, const DivergenceSpec& d) {
  ctx->saved_data["div_kind"] = static_cast<int64_t>(d.kind);
  ctx->saved_data["div_tail"] = static_cast<int64_t>(d.tail);
  ctx->saved_data["div_beta"] = d.jsd_beta;
  ctx->saved_data["div_skew"] = d.skew;
}
DivergenceSpec load_spec(AutogradContext* ctx) {
  DivergenceSpec d;
  d.kind = static_cast<config::Divergence>(ctx->saved_data["div_kind"].toInt());
  d.tail = static_cast<config::TailMode>(ctx->saved_data["div_tail"].toInt());
  d.jsd_beta = ctx->saved_data["div_beta"].toDouble();
  d.skew = ctx->saved_data["div_skew"].toDouble();
  return d;
}

/// The chunk's teacher log-probabilities on the support (divergence.h), in float type `ft`.
torch::Tensor chunk_teacher_logp(const DivergenceSpec& d, const torch::Tensor& vals, const torch::Tensor& logz,
                                 int64_t r0, int64_t r1, double tau, at::ScalarType ft) {
  return teacher_log_probs(d, vals.slice(0, r0, r1).to(ft), logz.numel() > 0 ? logz.slice(0, r0, r1) : logz, tau);
}

/// The forward KL's teacher side on a chunk's support: the weights p_T,k and log p_T,k of the value.
/// Top-k: softmax(vals/τ) and its log; sampled (counts given): c/Σc and vals/τ − logz.
std::pair<torch::Tensor, torch::Tensor> forward_kl_teacher(const torch::Tensor& vals, const torch::Tensor& logz,
                                                           const torch::Tensor& counts, int64_t r0, int64_t r1,
                                                           double tau, at::ScalarType ft) {
  const auto v = vals.slice(0, r0, r1).to(ft);
  if (counts.numel() == 0) {
    auto log_pt = torch::log_softmax(v / tau, -1);
    return {log_pt.exp(), log_pt};
  }
  const auto c = counts.slice(0, r0, r1).to(ft);
  return {c / c.sum(-1, true), v / tau - logz.slice(0, r0, r1).to(ft).unsqueeze(1)};
}

class ChunkedLmLoss : public torch::autograd::Function<ChunkedLmLoss> {
 public:
  static variable_list forward(AutogradContext* ctx, torch::Tensor h, torch::Tensor w, torch::Tensor targets,
                               torch::Tensor vals, torch::Tensor idx, double tau, int64_t chunk, torch::Tensor logz,
                               int64_t div_kind, int64_t div_tail, double div_beta, double div_skew,
                               torch::Tensor counts) {
    DivergenceSpec dspec;
    dspec.kind = static_cast<config::Divergence>(div_kind);
    dspec.tail = static_cast<config::TailMode>(div_tail);
    dspec.jsd_beta = div_beta;
    dspec.skew = div_skew;
    const bool paper = dspec.is_paper();
    const auto cdt = compat::matmul_dtype(h), ft = float_type(h);
    const int64_t N = h.size(0);
    const bool kd = vals.numel() > 0;  // (empty = no teacher logits)
    const auto wc = w.to(cdt);
    auto opts = h.options().dtype(ft);
    auto lse = torch::empty({N}, opts), lse_t = torch::empty({kd ? N : 0}, opts);
    auto nll_sum = torch::zeros({}, opts), kd_sum = torch::zeros({}, opts);
    auto kept = torch::empty({0}, opts);
    for (int64_t r0 = 0; r0 < N; r0 += chunk) {
      const int64_t r1 = std::min(N, r0 + chunk);
      auto z = chunk_logits(h.slice(0, r0, r1), wc, cdt, ft);  // (n, V)
      auto l = row_logsumexp(z);
      lse.slice(0, r0, r1).copy_(l);
      nll_sum += row_nll(z, l, targets.slice(0, r0, r1)).sum();
      if (kd) {
        // τ = 1 (the paper's setting) shares the logits and their logsumexp with the NLL term.
        auto zt = tau == 1.0 ? z : z / tau;
        auto lt = tau == 1.0 ? l : row_logsumexp(zt);
        lse_t.slice(0, r0, r1).copy_(lt);
        if (paper) {
          auto [pt, log_pt] = forward_kl_teacher(vals, logz, counts, r0, r1, tau, ft);
          auto log_ps = zt.gather(1, idx.slice(0, r0, r1)) - lt.unsqueeze(1);
          kd_sum += (pt * (log_pt - log_ps)).sum();
        } else {
          auto log_qs = zt.gather(1, idx.slice(0, r0, r1)) - lt.unsqueeze(1);  // (n, K)
          kd_sum += divergence_rows(dspec, chunk_teacher_logp(dspec, vals, logz, r0, r1, tau, ft), log_qs).sum();
        }
      }
      if (r1 - r0 == N) kept = z;  // one chunk: keep its logits rather than recompute them
    }
    ctx->save_for_backward({h, w, targets, vals, idx, lse, lse_t, kept, logz, counts});
    save_spec(ctx, dspec);
    ctx->saved_data["tau"] = tau;
    ctx->saved_data["chunk"] = chunk;
    ctx->saved_data["cdt"] = static_cast<int64_t>(cdt);  // backward runs outside autocast
    return {nll_sum / double(N), kd_sum * (tau * tau / double(N))};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto &h = s[0], &w = s[1], &targets = s[2], &vals = s[3], &idx = s[4], &lse = s[5], &lse_t = s[6],
               &kept = s[7], &logz = s[8], &counts = s[9];
    const DivergenceSpec dspec = load_spec(ctx);
    const bool paper = dspec.is_paper();
    const double tau = ctx->saved_data["tau"].toDouble();
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    // Recomputed logits must be forward's (bf16 products under autocast), or softmax(z − lse) would
    // mix two roundings.
    const auto cdt = static_cast<at::ScalarType>(ctx->saved_data["cdt"].toInt()), ft = float_type(h);
    const int64_t N = h.size(0);
    const bool use_nll = grads[0].defined(), use_kd = vals.numel() > 0 && grads[1].defined();
    const auto a = use_nll ? grads[0].to(ft) / double(N) : torch::Tensor();
    const auto b = use_kd ? grads[1].to(ft) * (tau / double(N)) : torch::Tensor();
    const auto wc = w.to(cdt);
    auto grad_h = torch::empty_like(h);
    auto grad_w = torch::zeros(w.sizes(), w.options().dtype(ft));
    for (int64_t r0 = 0; r0 < N; r0 += chunk) {
      const int64_t r1 = std::min(N, r0 + chunk), n = r1 - r0;
      const auto hc = h.slice(0, r0, r1).to(cdt);
      auto z = kept.numel() > 0 ? kept : torch::matmul(hc, wc.t()).to(ft);
      if (use_kd && !paper) {
        const auto g =
            divergence_chunk_grad(z, lse.slice(0, r0, r1), lse_t.slice(0, r0, r1), targets.slice(0, r0, r1),
                                  idx.slice(0, r0, r1), chunk_teacher_logp(dspec, vals, logz, r0, r1, tau, ft), dspec,
                                  tau, use_nll ? a : torch::Tensor(), b)
                .to(cdt);
        grad_h.slice(0, r0, r1).copy_(torch::matmul(g, wc));
        grad_w.add_(torch::matmul(g.t(), hc).to(ft));
        continue;
      }
      // softmax(z) serves the NLL term, and the KD term too when τ = 1: one pass over (n, V), in
      // place when z is not read again (the kept logits are this backward's alone).
      const bool shared = use_kd && tau == 1.0;
      torch::Tensor g;
      if (use_nll || shared) {
        const auto coef = use_nll && shared ? a + b : use_nll ? a : b;
        g = scaled_softmax(z, lse.slice(0, r0, r1), coef, /*in_place=*/!use_kd || shared);
      }
      if (use_kd && !shared) {
        auto gk = scaled_softmax(z / tau, lse_t.slice(0, r0, r1), b);
        g = g.defined() ? g.add_(gk) : gk;
      }
      if (use_nll) g.scatter_add_(1, targets.slice(0, r0, r1).unsqueeze(1), (-a).expand({n, 1}).contiguous());
      if (use_kd) {
        const auto pt = forward_kl_teacher(vals, logz, counts, r0, r1, tau, ft).first;
        g.scatter_add_(1, idx.slice(0, r0, r1), -(pt * b));
      }
      if (!g.defined()) g = torch::zeros_like(z);
      const auto gc = g.to(cdt);
      grad_h.slice(0, r0, r1).copy_(torch::matmul(gc, wc));
      grad_w.add_(torch::matmul(gc.t(), hc).to(ft));
    }
    return {grad_h,          grad_w.to(w.scalar_type()),
            torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }

  /// ∂L/∂z of one chunk for a divergence other than the paper's (see the file comment): a·(softmax(z) −
  /// onehot(target)) for the NLL (when `a` is defined) plus b·(g^sc − (Σ_k g_k) softmax(z/τ)).
  static torch::Tensor divergence_chunk_grad(const torch::Tensor& z, const torch::Tensor& lse_n,
                                             const torch::Tensor& lse_t_n, const torch::Tensor& targets_n,
                                             const torch::Tensor& idx_nxK, const torch::Tensor& logp_nxK,
                                             const DivergenceSpec& dspec, double tau, const torch::Tensor& a,
                                             const torch::Tensor& b) {
    const auto zt = tau == 1.0 ? z : z / tau;
    torch::Tensor g_nxK;  // ∂D/∂log q
    {
      torch::AutoGradMode grad_on(true);
      auto logq = (zt.gather(1, idx_nxK) - lse_t_n.unsqueeze(1)).detach().requires_grad_(true);
      auto d = divergence_rows(dspec, logp_nxK, logq).sum();
      g_nxK = torch::autograd::grad({d}, {logq})[0];
    }
    const auto coef = -(g_nxK.sum(-1, true) * b);  // (n, 1): the softmax(z/τ) coefficient
    torch::Tensor g;
    if (a.defined() && tau == 1.0) {
      g = scaled_softmax(z, lse_n, coef + a);
    } else {
      g = scaled_softmax(zt, lse_t_n, coef);
      if (a.defined()) g.add_(scaled_softmax(z, lse_n, a));
    }
    if (a.defined()) g.scatter_add_(1, targets_n.unsqueeze(1), (-a).expand({z.size(0), 1}).contiguous());
    g.scatter_add_(1, idx_nxK, g_nxK * b);
    return g;
  }
};

}  // namespace

int64_t default_chunk_rows(int64_t vocab) {
  return std::max<int64_t>(64, (int64_t{256} << 20) / (4 * std::max<int64_t>(1, vocab)));
}

LmLossTerms chunked_lm_loss(const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& targets,
                            const torch::Tensor& vals, const torch::Tensor& idx, double temperature, int64_t chunk_rows,
                            const DivergenceSpec& divergence, const torch::Tensor& logz, const torch::Tensor& counts) {
  TORCH_CHECK(h.dim() == 2 && w.dim() == 2 && h.size(1) == w.size(1), "chunked_lm_loss: h (N, D) and W (V, D)");
  TORCH_CHECK(chunk_rows > 0, "chunked_lm_loss: chunk_rows must be positive");
  const bool kd = vals.defined();
  const bool sampled = kd && counts.defined();
  if (kd) check_tail_signals(divergence, logz, vals.size(0));
  HLD_INPUT_CHECK(!sampled || divergence.is_paper(),
                  "teacher.logits = sampled estimates the forward KL on objective.tail = renormalise only");
  HLD_INPUT_CHECK(!sampled || (logz.defined() && logz.numel() == vals.size(0) && counts.sizes() == vals.sizes()),
                  "teacher.logits = sampled: the teacher signals lack the draw counts or the log-sum-exp");
  const bool with_logz = kd && (divergence.tail == config::TailMode::kBucket || sampled);
  auto out = ChunkedLmLoss::apply(
      h, w, targets, kd ? vals : torch::empty({0}, h.options()), kd ? idx : torch::empty({0}, targets.options()),
      temperature, chunk_rows, with_logz ? logz : torch::empty({0}, h.options()), static_cast<int64_t>(divergence.kind),
      static_cast<int64_t>(divergence.tail), divergence.jsd_beta, divergence.skew,
      sampled ? counts : torch::empty({0}, h.options()));
  LmLossTerms r;
  r.nll = out[0];
  if (kd) r.kd = out[1];
  return r;
}

RowNll chunked_row_nll(const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& targets,
                       int64_t chunk_rows) {
  TORCH_CHECK(h.dim() == 2 && w.dim() == 2 && h.size(1) == w.size(1), "chunked_row_nll: h (N, D) and W (V, D)");
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == h.size(0), "chunked_row_nll: targets (N)");
  TORCH_CHECK(chunk_rows > 0, "chunked_row_nll: chunk_rows must be positive");
  torch::NoGradGuard no_grad;
  const auto cdt = compat::matmul_dtype(h), ft = float_type(h);
  const int64_t N = h.size(0);
  const auto wc = w.to(cdt);
  RowNll r;
  r.nll_N = torch::empty({N}, h.options().dtype(ft));
  r.greedy_N = torch::empty({N}, h.options().dtype(torch::kBool));
  for (int64_t r0 = 0; r0 < N; r0 += chunk_rows) {
    const int64_t r1 = std::min(N, r0 + chunk_rows);
    const auto z = chunk_logits(h.slice(0, r0, r1), wc, cdt, ft);  // (n, V)
    const auto tgt = targets.slice(0, r0, r1);
    r.nll_N.slice(0, r0, r1).copy_(row_nll(z, row_logsumexp(z), tgt));
    r.greedy_N.slice(0, r0, r1).copy_(z.argmax(-1) == tgt);
  }
  return r;
}

}  // namespace hld::objectives
