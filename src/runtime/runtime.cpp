// Devices, CPU threads, the host allocator and CUDA statistics (see hld/runtime/runtime.h).
#include "hld/runtime/runtime.h"

#include <malloc.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

// HLD_WITH_CUDA is defined by CMake when LibTorch was built with CUDA.
#if defined(HLD_WITH_CUDA)
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "hld/util/error.h"

namespace hld::runtime {

torch::Device resolve_device(const std::string& spec) {
  if (spec == "auto") return torch::cuda::is_available() ? torch::Device("cuda:0") : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::kCPU;
  HLD_INPUT_CHECK(torch::cuda::is_available(),
                  "run.device = '" + spec + "': CUDA is not available in this build/machine");
  return torch::Device(spec == "cuda" ? "cuda:0" : spec);
}

int usable_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

void use_all_cpus() {
  if (!std::getenv("OMP_NUM_THREADS")) torch::set_num_threads(usable_cpus());
}

void cache_large_cpu_allocations() {
  if (std::getenv("GLIBC_TUNABLES") || std::getenv("MALLOC_MMAP_MAX_")) return;
  mallopt(M_MMAP_MAX, 0);              // the main arena grows with brk only
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // and keeps up to 1 GiB of freed top-of-heap memory
}

int64_t peak_memory(const torch::Device& device) {
  if (device.is_cuda()) return cuda_peak_memory(device.index());
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  return 0;
}

void reset_peak_memory(const torch::Device& device) {
  if (device.is_cuda()) return cuda_reset_peak_memory(device.index());
  std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM to the current resident set
}

int64_t cuda_peak_memory(int device_index) {
#if defined(HLD_WITH_CUDA)
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device_index);
  return stats.allocated_bytes[0].peak;
#else
  (void)device_index;
  return 0;
#endif
}

void cuda_reset_peak_memory(int device_index) {
#if defined(HLD_WITH_CUDA)
  c10::cuda::CUDACachingAllocator::resetPeakStats(device_index);
#else
  (void)device_index;
#endif
}

void cuda_synchronize(int device_index) {
#if defined(HLD_WITH_CUDA)
  c10::cuda::device_synchronize();
#else
  (void)device_index;
#endif
}

uint64_t cuda_free_memory(int device_index) {
#if defined(HLD_WITH_CUDA)
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(device_index));
  size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) != cudaSuccess) return 0;
  return free;
#else
  (void)device_index;
  return 0;
#endif
}

}  // namespace hld::runtime
