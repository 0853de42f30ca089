// Logit divergences over the cached support, K + 1 categories (see divergence.h, docs/objectives.md).
//
// Per row, with p_k the teacher's and q_k the student's probabilities at the K ids, the rests
// q_r = 1 − Σ_k q_k (student, always) and p_r (teacher: 0 under renormalise, 1 − Σ_k p_k under
// bucket). A rest is never formed as 1 − Σ in the input's precision (when the K ids hold nearly
// all the mass that cancels to rounding noise): log r = log1mexp(logsumexp_k log a_k), in float64,
// with log1mexp(x) = log(1 − eˣ) computed as log(−expm1(x)) near 0 and log1p(−eˣ) below −ln 2
// (Mächler 2012), and r ≥ a floor ε (1e-300 in float64, 1e-30 otherwise: only an empty rest,
// K = V, reaches it):
//   forward_kl  Σ_c p_c log(p_c / q_c)
//   reverse_kl  Σ_c q_c log(q_c / p_c)     (renormalise: over the K ids, q renormalised too — the
//                                            zero teacher rest would make it infinite)
//   jsd(β)      β KL(p ‖ m) + (1 − β) KL(q ‖ m),  m = β p + (1 − β) q;  β = 0: forward, β = 1: reverse
//   skew_kl(λ)  KL(p ‖ λ q + (1 − λ) p)            (λ = 1: forward KL)
//   tvd         ½ Σ_c |p_c − q_c|
// where c runs over the K ids and the rest (a teacher rest of 0 contributes nothing to p-weighted
// terms). The paper's spec keeps kd_kl's exact arithmetic (Σ_k p_k (log p_k − log q_k)).
#include "hld/objectives/divergence.h"

#include <cmath>

#include "hld/util/error.h"

namespace hld::objectives {
namespace {

using config::Divergence;
using config::TailMode;

// At least float32 (bf16 is upcast; float64 stays float64, which the finite-difference tests use).
at::ScalarType float_type(const torch::Tensor& x) { return at::promote_types(x.scalar_type(), torch::kFloat32); }

/// Σ_k a_k (log a_k − log m_k) per row, with 0·log 0 = 0 (teacher weights may be 0).
torch::Tensor kl_rows(const torch::Tensor& a_NxK, const torch::Tensor& loga_NxK, const torch::Tensor& logm_NxK) {
  auto t = a_NxK * (loga_NxK - logm_NxK);
  return torch::where(a_NxK > 0, t, torch::zeros_like(t)).sum(-1);
}

/// The same for one category per row (the rests), (N,).
torch::Tensor kl_cat(const torch::Tensor& a_N, const torch::Tensor& loga_N, const torch::Tensor& logm_N) {
  auto t = a_N * (loga_N - logm_N);
  return torch::where(a_N > 0, t, torch::zeros_like(t));
}

/// log(1 − Σ_k e^{loga_k}) per row, (N,), in `ft`: the mass outside the K ids, from the row's
/// log-sum-exp in float64 (see the file comment), at least `floor`. Differentiable.
torch::Tensor log_rest(const torch::Tensor& loga_NxK, double floor, at::ScalarType ft) {
  // x = log Σ a ≤ log(1 − floor) < 0: the rest is at least the floor, and log1mexp finite.
  const auto x = torch::logsumexp(loga_NxK.to(torch::kFloat64), -1).clamp_max(std::log1p(-floor));
  const auto near0 = x > -M_LN2;
  // Each branch on an argument where it is finite, so that neither leaks a NaN into the gradient.
  const auto log_expm1 = torch::log(-torch::expm1(torch::where(near0, x, torch::full_like(x, -1.0))));
  const auto log1p_exp = torch::log1p(-torch::exp(torch::where(near0, torch::full_like(x, -1.0), x)));
  return torch::where(near0, log_expm1, log1p_exp).clamp_min(std::log(floor)).to(ft);
}

/// log(w_a·e^a + w_b·e^b) for constants w ∈ [0, 1] (log 0 = −inf is handled by logaddexp).
torch::Tensor log_mix(const torch::Tensor& a, double wa, const torch::Tensor& b, double wb) {
  return torch::logaddexp(a + std::log(wa), b + std::log(wb));
}

}  // namespace

DivergenceSpec divergence_spec(const config::ObjectiveConfig& o) {
  DivergenceSpec s;
  s.kind = o.divergence;
  s.jsd_beta = o.jsd_beta;
  s.skew = o.skew;
  s.tail = o.tail;
  return s;
}

void check_tail_signals(const DivergenceSpec& spec, const torch::Tensor& logz, int64_t rows) {
  if (spec.tail != TailMode::kBucket) return;
  HLD_INPUT_CHECK(logz.defined() && logz.numel() == rows,
                  "objective.tail: bucket needs the teacher's full-vocabulary log-sum-exp per token, which these "
                  "teacher signals lack (a teacher cache written before it stores none: write a new cache, or use "
                  "objective.tail: renormalise)");
}

torch::Tensor teacher_log_probs(const DivergenceSpec& spec, const torch::Tensor& vals, const torch::Tensor& logz,
                                double tau) {
  const auto ft = float_type(vals);
  if (spec.tail == TailMode::kRenormalise) return torch::log_softmax(vals.to(ft) / tau, -1);
  check_tail_signals(spec, logz, vals.size(0));
  // float64: the teacher's rest, 1 − Σ_k exp(this), is formed from it (divergence_rows), and a rest
  // of 1e-7 is below float32's rounding of log-probabilities near 1.
  return vals.to(torch::kFloat64) / tau - logz.to(torch::kFloat64).unsqueeze(1);
}

torch::Tensor divergence_rows(const DivergenceSpec& spec, const torch::Tensor& teacher_logp,
                              const torch::Tensor& logq) {
  if (spec.is_paper()) return (teacher_logp.exp() * (teacher_logp - logq)).sum(-1);  // kd_kl's arithmetic, bitwise
  const auto ft = float_type(logq);
  const auto logp = teacher_logp.to(ft);  // the K terms in the student's precision; the rest from teacher_logp

  const bool bucket = spec.tail == TailMode::kBucket;
  const double floor = ft == torch::kFloat64 ? 1e-300 : 1e-30;
  const auto p = logp.exp(), q = logq.exp();      // (N, K)
  const auto logq_r = log_rest(logq, floor, ft);  // (N,) student's rest
  const auto q_r = logq_r.exp();
  torch::Tensor p_r, logp_r;  // (N,) teacher's rest (bucket)
  if (bucket) {
    logp_r = log_rest(teacher_logp, floor, ft);
    p_r = logp_r.exp();
  }

  switch (spec.kind) {
    case Divergence::kForwardKl: {
      auto r = kl_rows(p, logp, logq);
      return bucket ? r + kl_cat(p_r, logp_r, logq_r) : r;
    }
    case Divergence::kReverseKl: {
      if (!bucket) {
        const auto logq_n = logq - torch::logsumexp(logq, -1, true);  // student renormalised on the ids
        return kl_rows(logq_n.exp(), logq_n, logp);
      }
      return kl_rows(q, logq, logp) + kl_cat(q_r, logq_r, logp_r);
    }
    case Divergence::kJsd: {
      const double b = spec.jsd_beta;
      if (b == 0.0 || b == 1.0) {  // TRL's end points: the two KLs themselves
        DivergenceSpec s = spec;
        s.kind = b == 0.0 ? Divergence::kForwardKl : Divergence::kReverseKl;
        return divergence_rows(s, teacher_logp, logq);
      }
      const auto logm = log_mix(logp, b, logq, 1.0 - b);
      auto r = b * kl_rows(p, logp, logm) + (1.0 - b) * kl_rows(q, logq, logm);
      // The rest: m_r = β p_r + (1 − β) q_r, with p_r = 0 under renormalise.
      const auto logm_r = bucket ? log_mix(logp_r, b, logq_r, 1.0 - b) : logq_r + std::log(1.0 - b);
      r = r + (1.0 - b) * kl_cat(q_r, logq_r, logm_r);
      return bucket ? r + b * kl_cat(p_r, logp_r, logm_r) : r;
    }
    case Divergence::kSkewKl: {
      const double l = spec.skew;
      auto r = kl_rows(p, logp, log_mix(logq, l, logp, 1.0 - l));
      return bucket ? r + kl_cat(p_r, logp_r, log_mix(logq_r, l, logp_r, 1.0 - l)) : r;
    }
    case Divergence::kTvd: {
      auto r = (p - q).abs().sum(-1);
      r = r + (bucket ? (p_r - q_r).abs() : q_r);
      return 0.5 * r;
    }
  }
  TORCH_CHECK(false, "divergence_rows: unknown divergence");
}

torch::Tensor kd_divergence(const DivergenceSpec& spec, const torch::Tensor& student_logits, const torch::Tensor& vals,
                            const torch::Tensor& idx, const torch::Tensor& logz, double tau) {
  auto log_pt = teacher_log_probs(spec, vals, logz, tau);                                    // (N, K)
  auto log_ps = torch::log_softmax(student_logits.to(float_type(student_logits)) / tau, -1)  // (N, V)
                    .gather(1, idx);                                                         // (N, K)
  return divergence_rows(spec, log_pt, log_ps).mean() * (tau * tau);
}

}  // namespace hld::objectives
