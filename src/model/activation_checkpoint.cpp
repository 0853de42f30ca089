// Activation checkpointing: a torch::autograd::Function that recomputes one block in backward.
#include "hld/model/activation_checkpoint.h"

#include <utility>
#include <vector>

#include "hld/compat/torch.h"

namespace hld::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// What the recomputation needs besides the saved input: the block and its per-type tables.
struct Recompute : torch::CustomClassHolder {
  Block block{nullptr};
  torch::Tensor allowed_TxT;
  RopeTables rope;
  torch::Device device{torch::kCPU};
  bool autocast = false;  ///< autocast was on for `device`'s type in the forward
  at::ScalarType autocast_dtype = at::kBFloat16;
};

struct CheckpointFn : torch::autograd::Function<CheckpointFn> {
  // Tensor inputs (gradients returned in this order): x, then every block parameter.
  static variable_list forward(AutogradContext* ctx, torch::Tensor x_BxTxD, torch::TensorList params,
                               c10::intrusive_ptr<Recompute> r) {
    ctx->save_for_backward({x_BxTxD});
    ctx->saved_data["n_params"] = static_cast<int64_t>(params.size());
    auto y_BxTxD = r->block->forward(x_BxTxD, r->allowed_TxT, r->rope);  // grad mode is off here
    ctx->saved_data["recompute"] = c10::IValue::make_capsule(std::move(r));
    return {y_BxTxD};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto saved = ctx->get_saved_variables();
    const auto n_params = ctx->saved_data["n_params"].toInt();
    auto r = c10::static_intrusive_pointer_cast<Recompute>(ctx->saved_data["recompute"].toCapsule());
    const bool x_grad = saved[0].requires_grad();
    auto x_BxTxD = saved[0].detach().requires_grad_(x_grad);
    std::vector<torch::Tensor> params = r->block->parameters();
    TORCH_CHECK(static_cast<int64_t>(params.size()) == n_params, "[checkpointed_block] parameter count changed");

    torch::Tensor y_BxTxD;
    {
      torch::AutoGradMode grad_on(true);
      compat::AutocastGuard ac(r->device, r->autocast, r->autocast_dtype);
      y_BxTxD = r->block->forward(x_BxTxD, r->allowed_TxT, r->rope);
    }
    // Differentiate w.r.t. what the outer graph asked for: x when it needs a gradient, and the
    // parameters that require one (HLDF's phase 1 freezes some blocks).
    std::vector<torch::Tensor> wrt;
    std::vector<int64_t> slot;  // index in the returned list (0: x, 1 + j: parameter j)
    if (x_grad) wrt.push_back(x_BxTxD), slot.push_back(0);
    for (int64_t j = 0; j < n_params; ++j)
      if (params[j].requires_grad()) wrt.push_back(params[j]), slot.push_back(1 + j);
    variable_list out(static_cast<size_t>(2 + n_params));  // x, params…, the capsule (undefined)
    if (wrt.empty()) return out;
    auto grads = torch::autograd::grad({y_BxTxD}, wrt, {grad_out[0]}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true);
    for (size_t i = 0; i < grads.size(); ++i) out[slot[i]] = grads[i];
    return out;
  }
};

}  // namespace

int64_t checkpoint_every(config::ActivationCheckpointing mode, int64_t k) {
  switch (mode) {
    case config::ActivationCheckpointing::kNone:
      return 0;
    case config::ActivationCheckpointing::kBlocks:
      return 1;
    case config::ActivationCheckpointing::kEveryK:
      return k;
  }
  return 0;
}

torch::Tensor checkpointed_block(Block& block, const torch::Tensor& x_BxTxD, const torch::Tensor& allowed_TxT,
                                 const RopeTables& rope) {
  if (!torch::GradMode::is_enabled()) return block->forward(x_BxTxD, allowed_TxT, rope);
  auto r = c10::make_intrusive<Recompute>();
  r->block = block;
  r->allowed_TxT = allowed_TxT;
  r->rope = rope;
  const auto mm = compat::matmul_dtype(x_BxTxD);
  r->device = x_BxTxD.device();
  r->autocast = mm != x_BxTxD.scalar_type();
  r->autocast_dtype = mm;
  std::vector<torch::Tensor> params = block->parameters();
  return CheckpointFn::apply(x_BxTxD, torch::TensorList(params), std::move(r))[0];
}

}  // namespace hld::model
