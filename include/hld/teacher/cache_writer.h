// `hld-train cache-teacher`: runs the teacher over the selected sequences of data.train and
// writes their top-k logits and hint-layer states as a chunked cache (io/teacher_cache_format.h).
// Chunks are written to a temporary name, fsynced and renamed, then recorded in index.json, so
// an interrupted run resumes where it stopped without rewriting finished chunks. Before any
// work it prints the storage the cache needs and refuses (InputError) when the disk lacks it.
#pragma once

#include <cstdint>
#include <string>

#include "hld/config/experiment.h"
#include "hld/io/teacher_cache_format.h"
#include "hld/teacher/cache_plan.h"

namespace hld::teacher {

struct CacheWriteOptions {
  CachePlanOptions plan;           ///< how many sequences, rows per chunk, world size
  int64_t batch = 0;               ///< sequences per teacher forward (0: the run's micro-batch)
  int64_t stop_after_chunks = -1;  ///< return after writing this many chunks (an interruption)
  bool quiet = false;              ///< no progress lines
};

struct CacheWriteResult {
  io::CacheIndex index;        ///< as written to index.json
  int64_t chunks_written = 0;  ///< by this call
  int64_t chunks_kept = 0;     ///< finished earlier and left untouched
  uint64_t bytes_written = 0;
  double seconds = 0;
  /// Why it stopped after its last finished chunk ("SIGTERM", "the time limit"; "" when it did
  /// not): `cache-teacher` then exits with kExitRequeue and a re-run continues.
  std::string stopped;
};

/// InputError when util::free_disk_bytes(dir) < need, naming both figures.
void check_disk_space(const std::string& dir, uint64_t need);

/// Writes (or completes) the cache cfg.teacher.cache. InputError on bad config, an existing
/// cache of another identity in that directory, another writer holding it, or too little disk.
CacheWriteResult write_teacher_cache(const config::ExperimentConfig& cfg, const CacheWriteOptions& opts);

}  // namespace hld::teacher
