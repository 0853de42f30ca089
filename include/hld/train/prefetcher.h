// Training micro-batches prepared ahead on a background thread: the stream's tokens and, from a
// teacher cache, their signals (read, checksummed, decoded), up to `depth` batches ahead of the
// step, in the stream's order. Each batch carries the stream position after it, so checkpoints
// taken while batches are queued stay exact; when the prefetcher ends, the stream is put back at
// the position after the last batch handed out.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "hld/objectives/objective.h"

namespace hld::data {
class BatchStream;
}
namespace hld::teacher {
class TeacherSource;
}

namespace hld::train {

struct HostBatch {
  torch::Tensor input_BxT, target_BxT;  ///< int64 on the host (pinned when `pin`)
  std::vector<int64_t> seq_ids;         ///< the rows' sequence indices (teacher-cache keys)
  nlohmann::json position;              ///< the stream's position after this batch
  objectives::TeacherSignals signals;   ///< host tensors, when a cache source is read
  bool has_signals = false;
};

class Prefetcher {
 public:
  /// `cache`: a source whose signals() runs on the host (a teacher cache), or null. While the
  /// prefetcher lives it alone uses `stream` and `cache`. depth 0: each batch is made on the
  /// caller's thread when asked for. `pin`: page-locked host tensors (for asynchronous copies to
  /// a CUDA device).
  Prefetcher(data::BatchStream& stream, teacher::TeacherSource* cache, spec::Needs needs, int64_t depth, bool pin);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  /// The next batch, in stream order; rethrows what preparing it threw.
  HostBatch next();
  /// Batches prepared and waiting.
  size_t ready() const;

 private:
  HostBatch make();
  void produce();

  data::BatchStream& stream_;
  teacher::TeacherSource* cache_;
  spec::Needs needs_;
  size_t depth_;
  bool pin_;
  nlohmann::json consumed_;  ///< stream position after the last batch handed out

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<HostBatch> queue_;
  std::exception_ptr error_;
  bool stop_ = false;
  std::thread worker_;
};

/// A host batch's tensors on `device` (asynchronous from pinned memory).
struct DeviceBatch {
  torch::Tensor input_BxT, target_BxT;
  objectives::TeacherSignals signals;
};
DeviceBatch to_device(const HostBatch& b, torch::Device device);

}  // namespace hld::train
