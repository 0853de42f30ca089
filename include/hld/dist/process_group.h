// The multi-process Collective: a c10d process group (Gloo on CPU, NCCL on CUDA when LibTorch
// has it) joined through rank 0's TCPStore. Every operation is bounded by the launch timeout, so a
// peer that dies or hangs makes the others fail with a clear error instead of waiting forever.
// c10d headers stay inside process_group.cpp.
#pragma once

#include <memory>
#include <string>

#include "hld/dist/collective.h"
#include "hld/dist/launch_env.h"

namespace hld::dist {

class ProcessGroupCollective : public Collective {
 public:
  /// Rendezvous at env.master_addr:env.master_port (rank 0 serves the TCPStore), checks that
  /// every process agrees on WORLD_SIZE and holds a distinct RANK (InputError otherwise), then
  /// connects the process group. std::runtime_error naming the address and the number of
  /// processes that joined when the others do not arrive within env.timeout_s.
  ProcessGroupCollective(const LaunchEnv& env, const torch::Device& device);
  ~ProcessGroupCollective() override;
  ProcessGroupCollective(const ProcessGroupCollective&) = delete;
  ProcessGroupCollective& operator=(const ProcessGroupCollective&) = delete;

  int rank() const override { return env_.rank; }
  int world() const override { return env_.world; }
  int local_rank() const override { return env_.local_rank; }
  std::string backend() const override;

  /// Bucketed (env.bucket_bytes) sum all-reduce divided by the world size. Buckets are issued
  /// asynchronously, a few in flight, so flattening the next bucket overlaps the transfer of the
  /// previous ones; it runs after backward (no overlap with the backward pass itself).
  void allreduce_mean(std::vector<torch::Tensor>& tensors) override;
  /// Rank 0's values to every rank, bucketed the same way (tensors may live on another device
  /// than the backend's: they are staged through it).
  void broadcast(std::vector<torch::Tensor>& tensors) override;
  /// c10d all-gather through the backend's device (staged like broadcast).
  std::vector<torch::Tensor> allgather(const torch::Tensor& mine_N) override;
  int64_t bucket_bytes() const override { return env_.bucket_bytes; }
  double allreduce_sum(double v) override;
  void barrier() override;

  const LaunchEnv& env() const { return env_; }

 private:
  struct Impl;
  LaunchEnv env_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hld::dist
