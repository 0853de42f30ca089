// Background preparation of training micro-batches (see prefetcher.h).
#include "hld/train/prefetcher.h"

#include "hld/data/batch_stream.h"
#include "hld/teacher/teacher.h"

namespace hld::train {

Prefetcher::Prefetcher(data::BatchStream& stream, teacher::TeacherSource* cache, spec::Needs needs, int64_t depth,
                       bool pin)
    : stream_(stream),
      cache_(cache),
      needs_(needs),
      depth_(static_cast<size_t>(depth)),
      pin_(pin),
      consumed_(stream.position()) {
  if (depth_ > 0) worker_ = std::thread([this] { produce(); });
}

Prefetcher::~Prefetcher() {
  if (worker_.joinable()) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
    stream_.restore(consumed_);  // forget the batches read ahead
  }
}

HostBatch Prefetcher::make() {
  const int64_t B = stream_.batch(), T = stream_.context();
  std::vector<int32_t> toks;
  HostBatch b;
  stream_.next(toks, b.seq_ids);
  b.position = stream_.position();
  auto t = torch::from_blob(toks.data(), {B, T + 1}, torch::kInt32).to(torch::kInt64);
  b.input_BxT = t.narrow(1, 0, T).contiguous();
  b.target_BxT = t.narrow(1, 1, T).contiguous();
  if (cache_ && (needs_.teacher_logits || needs_.teacher_hidden)) {
    b.signals = cache_->signals(b.input_BxT, b.seq_ids, needs_);
    b.has_signals = true;
  }
  if (pin_) {
    for (auto* x : {&b.input_BxT, &b.target_BxT, &b.signals.vals_NxK, &b.signals.idx_NxK, &b.signals.logz_N,
                    &b.signals.counts_NxK})
      if (x->defined()) *x = x->pin_memory();
    for (auto& x : b.signals.hidden_NxD) x = x.pin_memory();
  }
  return b;
}

void Prefetcher::produce() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return stop_ || queue_.size() < depth_; });
      if (stop_) return;
    }
    HostBatch b;
    try {
      b = make();
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      error_ = std::current_exception();
      cv_.notify_all();
      return;
    }
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back(std::move(b));
    cv_.notify_all();
  }
}

HostBatch Prefetcher::next() {
  if (depth_ == 0) {
    HostBatch b = make();
    consumed_ = b.position;
    return b;
  }
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return !queue_.empty() || error_; });
  if (queue_.empty()) std::rethrow_exception(error_);  // batches made before the failure come first
  HostBatch b = std::move(queue_.front());
  queue_.pop_front();
  consumed_ = b.position;
  cv_.notify_all();
  return b;
}

size_t Prefetcher::ready() const {
  std::lock_guard<std::mutex> lk(mu_);
  return queue_.size();
}

DeviceBatch to_device(const HostBatch& b, torch::Device device) {
  const bool async = device.is_cuda();
  auto move = [&](const torch::Tensor& x) { return x.defined() ? x.to(device, /*non_blocking=*/async) : x; };
  DeviceBatch d;
  d.input_BxT = move(b.input_BxT);
  d.target_BxT = move(b.target_BxT);
  d.signals.vals_NxK = move(b.signals.vals_NxK);
  d.signals.idx_NxK = move(b.signals.idx_NxK);
  d.signals.logz_N = move(b.signals.logz_N);
  d.signals.counts_NxK = move(b.signals.counts_NxK);
  for (const auto& x : b.signals.hidden_NxD) d.signals.hidden_NxD.push_back(move(x));
  return d;
}

}  // namespace hld::train
