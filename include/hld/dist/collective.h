// Data-parallel collectives used by the training loop. A single process uses the no-op
// implementation; multi-process jobs (RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT/LOCAL_RANK in the
// environment, as torchrun and Slurm set them) get a c10d process group (Gloo on CPU, NCCL on GPU;
// see process_group.h, launch_env.h and docs/distributed.md).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace hld::dist {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const { return 0; }
  virtual int world() const { return 1; }
  virtual int local_rank() const { return 0; }
  /// "none" for one process, else the c10d backend ("gloo", "nccl").
  virtual std::string backend() const { return "none"; }
  /// Averages gradients across ranks (in place, bucketed); no-op for one process.
  virtual void allreduce_mean(std::vector<torch::Tensor>& tensors) { (void)tensors; }
  /// Copies rank 0's tensors to every rank (initial weights); no-op for one process.
  virtual void broadcast(std::vector<torch::Tensor>& tensors) { (void)tensors; }
  /// Every rank's `mine_N` (1-D, the same length and dtype on every rank), in rank order: what
  /// ZeRO-1 uses to share the parameter slices each rank updated. One process: {mine_N}.
  virtual std::vector<torch::Tensor> allgather(const torch::Tensor& mine_N) { return {mine_N}; }
  /// The flat-bucket size of the collectives (HLD_DIST_BUCKET_MB; 25 MiB by default).
  virtual int64_t bucket_bytes() const { return 25ll << 20; }
  /// Sum of a scalar over ranks (counters, losses for logging).
  virtual double allreduce_sum(double v) { return v; }
  /// Waits for every rank; throws with a clear message when a peer is gone or times out.
  virtual void barrier() {}
  /// True on every rank exactly when every rank passed the same `x` (rank 0's value is broadcast
  /// and the mismatches summed), so all ranks can stop together; true for one process.
  bool all_equal(int64_t x);
};

/// Reads the launcher environment (launch_env.h): without WORLD_SIZE (or with WORLD_SIZE=1) a
/// single-process Collective; otherwise a c10d process group for `device` (Gloo for CPU, NCCL for
/// CUDA). Throws InputError when the variables are inconsistent (exit code 2) and
/// std::runtime_error when the rendezvous fails or times out (HLD_DIST_TIMEOUT seconds).
std::unique_ptr<Collective> from_environment(const torch::Device& device);

/// The device this rank computes on: `requested` for CPU or one process; with several processes
/// on CUDA, GPU `local_rank` (or the single visible GPU when each process sees one). InputError
/// when LOCAL_RANK has no GPU.
torch::Device rank_device(const torch::Device& requested, int local_rank, int world);

}  // namespace hld::dist
