// Activation checkpointing of decoder blocks: the forward runs without building a graph and keeps
// only the block's input; backward re-runs the block with grad enabled and differentiates it.
// LibTorch C++ has no torch.utils.checkpoint, so this is a torch::autograd::Function whose tensor
// inputs are the block input and the block's parameters (backward returns gradients for both).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "hld/config/experiment.h"
#include "hld/model/block.h"
#include "hld/model/rope.h"

namespace hld::model {

/// The Transformer's `checkpoint_every` for a run's mode: none → 0, blocks → 1, every_k → k.
int64_t checkpoint_every(config::ActivationCheckpointing mode, int64_t k);

/// Whether block `i` (0-based) is recomputed in backward with `every` = k: blocks k, 2k, … (1-based).
inline bool checkpoints_block(int64_t every, int64_t i) { return every > 0 && (i + 1) % every == 0; }

/// block(x_BxTxD, allowed_TxT, rope) with the same value, and the same gradients bitwise on CPU,
/// as the plain call, storing only x for backward (plus what the recomputation needs: the mask
/// and RoPE tables, shared by every layer of one type). CUDA autocast active at the call is
/// re-entered for the recomputation. Without grad mode it is the plain call.
torch::Tensor checkpointed_block(Block& block, const torch::Tensor& x_BxTxD, const torch::Tensor& allowed_TxT,
                                 const RopeTables& rope);

}  // namespace hld::model
