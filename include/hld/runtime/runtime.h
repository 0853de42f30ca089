// The machine a command runs on: devices, CPU threads, the host allocator, CUDA memory statistics.
// CUDA calls compile only into a CUDA build (HLD_WITH_CUDA); elsewhere they are stubs (0, no-op).
// Version differences of LibTorch itself live in hld/compat/torch.h, not here.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace hld::runtime {

/// "auto" → cuda when available, else cpu; "cuda"/"cuda:N" → InputError when CUDA is absent.
torch::Device resolve_device(const std::string& spec);

/// CPUs this process may run on (its affinity mask, as Slurm, cgroups or taskset leave it).
int usable_cpus();

/// LibTorch's default intra-op thread count depends on how it was built and launched: use every
/// usable CPU unless OMP_NUM_THREADS says otherwise.
/// run.threads > 0 and the per-process share of multi-process runs are applied later.
void use_all_cpus();

/// LibTorch's CPU allocator takes every tensor from malloc and frees it at once; glibc serves
/// blocks over 32 MiB with mmap and unmaps them on free, so each large temporary page-faults anew
/// (~15 % of a small-model CPU step here). Keeps such blocks in the heap for reuse instead, unless
/// GLIBC_TUNABLES / MALLOC_MMAP_MAX_ configure malloc already.
void cache_large_cpu_allocations();

/// Peak memory of `device` since the last reset_peak_memory, in bytes: the CUDA allocator's peak,
/// or on the host the process's peak resident set (VmHWM; 0 where /proc says nothing).
int64_t peak_memory(const torch::Device& device);
/// Starts a new peak window (CUDA allocator statistics; on the host /proc/self/clear_refs, where
/// the kernel allows it: otherwise the window keeps the process's whole lifetime).
void reset_peak_memory(const torch::Device& device);

/// Peak CUDA memory allocated since the last reset, in bytes (0 on CPU / without CUDA).
int64_t cuda_peak_memory(int device_index);
void cuda_reset_peak_memory(int device_index);
void cuda_synchronize(int device_index);
/// Free memory of a CUDA device in bytes (0 without CUDA).
uint64_t cuda_free_memory(int device_index);

}  // namespace hld::runtime
