// Gemma 3 decoder stack: scaled embedding, blocks with per-type masks and RoPE, final norm, tied
// de-embedding; optional early stop and returned hidden states.
#include "hld/model/transformer.h"

#include <algorithm>
#include <cmath>

#include "hld/model/activation_checkpoint.h"

namespace hld::model {

TransformerImpl::TransformerImpl(const config::ModelConfig& c) : cfg_(c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) {
    blocks.emplace_back(c, c.layer_type(i) == config::AttentionType::kGlobal);
    layers->push_back(blocks.back());
  }
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  init_weights(c.init_std);
}

void TransformerImpl::init_weights(double std) {
  torch::NoGradGuard ng;
  for (auto& p : named_parameters()) {
    if (p.key().find("norm") != std::string::npos)
      p.value().zero_();
    else
      p.value().normal_(0.0, std);
  }
}

torch::Tensor TransformerImpl::embed(const torch::Tensor& ids) {
  auto w = embed_tokens->weight;
  auto scale =
      torch::scalar_tensor(static_cast<float>(std::sqrt(static_cast<double>(cfg_.hidden_size))), torch::kFloat32)
          .to(w.scalar_type());
  // As Hugging Face's Gemma 3 embedding (padding_idx = pad_token_id): the pad token's row gets no
  // gradient from lookups (the tied head still trains it); the values are a plain lookup's.
  namespace F = torch::nn::functional;
  auto opts = F::EmbeddingFuncOptions();
  if (cfg_.pad_token_id >= 0 && cfg_.pad_token_id < cfg_.vocab_size) opts.padding_idx(cfg_.pad_token_id);
  return F::embedding(ids, w, opts) * scale.to(w.device());
}

std::vector<torch::Tensor> TransformerImpl::first_blocks_parameters(int64_t m) const {
  std::vector<torch::Tensor> out = embed_tokens->parameters();
  for (int64_t i = 0; i < m && i < static_cast<int64_t>(blocks.size()); ++i)
    for (const auto& p : blocks[i]->parameters()) out.push_back(p);
  return out;
}

torch::Tensor TransformerImpl::logits(const torch::Tensor& normed) {
  return torch::nn::functional::linear(normed, embed_tokens->weight);
}

ForwardOutput TransformerImpl::forward(const torch::Tensor& ids, const ForwardOptions& o) {
  ForwardOutput out;
  const int64_t T = ids.size(1);
  const int64_t n_blocks = o.stop_after >= 0 ? std::min(o.stop_after, cfg_.num_layers) : cfg_.num_layers;
  auto want = [&](int64_t m) {
    return std::find(o.hidden_layers.begin(), o.hidden_layers.end(), m) != o.hidden_layers.end();
  };
  auto x = embed(ids);
  if (want(0)) out.hidden[0] = x;
  const auto dev = x.device();
  const auto dt = x.scalar_type();
  // Masks and RoPE tables are shared by all layers of one type; the (T, T) masks only where the
  // attention reads them (attention_reads_mask).
  torch::Tensor mask_local, mask_global;
  RopeTables rope_local, rope_global;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const bool global = cfg_.layer_type(i) == config::AttentionType::kGlobal;
    if (global && !rope_global.cos_TxD.defined()) {
      if (attention_reads_mask(dev, 0, T)) mask_global = attention_mask(T, 0, dev);
      rope_global = rope_tables(T, cfg_.head_dim, cfg_.rope_global_base, cfg_.rope_global_scaling, dev, dt);
    }
    if (!global && !rope_local.cos_TxD.defined()) {
      if (attention_reads_mask(dev, cfg_.sliding_window, T)) mask_local = attention_mask(T, cfg_.sliding_window, dev);
      rope_local = rope_tables(T, cfg_.head_dim, cfg_.rope_local_base, cfg_.rope_local_scaling, dev, dt);
    }
    const auto& mask = global ? mask_global : mask_local;
    const auto& rope = global ? rope_global : rope_local;
    // A block whose input is also a returned hidden state runs plainly: its input then has an
    // outside consumer, and summing the block's gradient contributions inside the recomputation
    // would round differently from the plain graph's accumulation order.
    if (checkpoints_block(checkpoint_every_, i) && !want(i))
      x = checkpointed_block(blocks[i], x, mask, rope);
    else
      x = blocks[i]->forward(x, mask, rope);
    if (want(i + 1)) out.hidden[i + 1] = x;
  }
  if (n_blocks < cfg_.num_layers) return out;
  if (!o.logits && !o.final_normed) return out;
  auto normed = norm(x);
  if (o.final_normed) out.final_normed_BxTxD = normed;
  if (o.logits) out.logits_BxTxV = logits(normed);
  return out;
}

}  // namespace hld::model
