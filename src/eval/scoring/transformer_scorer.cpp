// Batched, padding-aware log-likelihood scoring with a Transformer (see hld/eval/scoring.h).
#include "hld/eval/scoring.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "hld/objectives/chunked_lm_loss.h"
#include "hld/compat/torch.h"

namespace hld::eval {

TransformerScorer::TransformerScorer(model::Transformer model, torch::Device device, int64_t max_length,
                                     int64_t batch_size, int64_t row_chunk)
    : model_(std::move(model)),
      device_(device),
      max_length_(max_length),
      batch_size_(std::max<int64_t>(1, batch_size)),
      row_chunk_(std::max<int64_t>(1, row_chunk)) {
  if (max_length_ < 1) throw std::invalid_argument("[TransformerScorer] max_length must be positive");
}

std::vector<ScoreResult> TransformerScorer::score(const std::vector<TokenRequest>& requests, const std::string& label) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto last_log = t0;
  std::vector<ScoreResult> out(requests.size());
  // Model inputs (the harness's left truncation), longest first.
  std::vector<std::vector<int32_t>> inputs(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) inputs[i] = model_input(requests[i], max_length_);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return inputs[a].size() > inputs[b].size(); });

  torch::NoGradGuard no_grad;
  // Eval mode while scoring; the previous mode comes back however this returns.
  struct ModeGuard {
    model::Transformer& m;
    bool was_training;
    ~ModeGuard() { m->train(was_training); }
  } mode{model_, model_->is_training()};
  model_->eval();
  compat::AutocastGuard autocast(device_, device_.is_cuda());
  const int64_t vocab = model_->config().vocab_size;

  for (size_t b0 = 0; b0 < order.size(); b0 += size_t(batch_size_)) {
    const size_t b1 = std::min(order.size(), b0 + size_t(batch_size_));
    const int64_t B = int64_t(b1 - b0);
    const int64_t T = int64_t(inputs[order[b0]].size());
    // ids (B, T) right-padded with 0; for every scored position: its flat row in (B·T) and target.
    std::vector<int64_t> ids(size_t(B * T), 0), rows, targets;
    for (int64_t k = 0; k < B; ++k) {
      const auto& in = inputs[order[b0 + size_t(k)]];
      const auto& cont = requests[order[b0 + size_t(k)]].continuation;
      std::copy(in.begin(), in.end(), ids.begin() + k * T);
      const int64_t n = int64_t(in.size()), c = int64_t(cont.size());
      if (c > n) throw std::runtime_error("[TransformerScorer] a request needs a non-empty context");
      for (int64_t j = 0; j < c; ++j) {
        rows.push_back(k * T + (n - c + j));
        targets.push_back(cont[size_t(j)]);
      }
      tokens_read_ += n;
    }
    for (int64_t t : targets)
      if (t < 0 || t >= vocab)
        throw std::runtime_error("[TransformerScorer] token id " + std::to_string(t) +
                                 " is outside the model's vocabulary (" + std::to_string(vocab) +
                                 "); does the tokenizer match the model?");
    const auto ids_BxT = torch::from_blob(ids.data(), {B, T}, torch::kInt64).to(device_);
    model::ForwardOptions fo;
    fo.logits = false;
    fo.final_normed = true;
    const auto normed_NxD = model_->forward(ids_BxT, fo).final_normed_BxTxD.reshape({B * T, -1});
    const auto rows_R = torch::from_blob(rows.data(), {int64_t(rows.size())}, torch::kInt64).to(device_);
    const auto targets_R = torch::from_blob(targets.data(), {int64_t(targets.size())}, torch::kInt64).to(device_);
    // The scored rows' NLL through the training loss's chunked de-embedding (row_chunk_ rows of
    // float32 logits at a time).
    const auto normed_RxD = normed_NxD.index_select(0, rows_R);
    const auto scored = objectives::chunked_row_nll(normed_RxD, model_->embed_tokens->weight, targets_R, row_chunk_);
    const auto lp_R = scored.nll_N.neg().to(torch::kFloat64).cpu().contiguous();
    const auto hit_R = scored.greedy_N.to(torch::kUInt8).cpu().contiguous();
    std::vector<double> lp(lp_R.data_ptr<double>(), lp_R.data_ptr<double>() + rows.size());
    std::vector<uint8_t> hit(hit_R.data_ptr<uint8_t>(), hit_R.data_ptr<uint8_t>() + rows.size());
    size_t r = 0;
    for (int64_t k = 0; k < B; ++k) {
      auto& res = out[order[b0 + size_t(k)]];
      res = {0.0, true};
      for (size_t j = 0; j < requests[order[b0 + size_t(k)]].continuation.size(); ++j, ++r) {
        res.logprob += lp[r];
        res.greedy = res.greedy && hit[r];
      }
    }
    tokens_scored_ += int64_t(rows.size());
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_log).count();
    if (since >= 10.0 || (b1 == order.size() && std::chrono::duration<double>(now - t0).count() >= 2.0)) {
      const double el = std::chrono::duration<double>(now - t0).count();
      const double rate = el > 0 ? double(b1) / el : 0;
      spdlog::info("{}: {}/{} requests, {:.1f} requests/s, ETA {:.0f}s", label, b1, order.size(), rate,
                   rate > 0 ? double(order.size() - b1) / rate : 0.0);
      last_log = now;
    }
  }
  return out;
}

}  // namespace hld::eval
