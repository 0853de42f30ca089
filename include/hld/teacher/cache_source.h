// Teacher signals read from an offline cache written by `hld-train cache-teacher`.
#pragma once

#include <memory>

#include "hld/data/batch_stream.h"
#include "hld/teacher/cache_reader.h"
#include "hld/teacher/teacher.h"

namespace hld::teacher {

/// Opens cfg.teacher.cache, checks its header against the run (teacher, tokenizer, layer, k,
/// token range) and returns a source that serves rows by sequence index. InputError naming the
/// first field that differs; chunks are validated when first read (corrupt → InputError).
/// Rows are checksummed and decoded over the intra-op threads when `parallel_decode`, else on the
/// calling thread (a prefetch thread, off the training step's critical path). `positions`: the
/// stream positions the run reads (its budget plan's steps × global batch; -1: a one-process plan
/// of cfg, for callers without one).
std::unique_ptr<TeacherSource> make_cache_source(const config::ExperimentConfig& cfg, const config::ModelConfig& shape,
                                                 int64_t hint_layer, torch::Device device, bool parallel_decode = true,
                                                 int64_t positions = -1);

/// The k ≤ k_max largest of a cache's top-k (ids ascending in each row, as decoded): values and
/// ids of the k largest values, again in ascending id order (equal values: the lower id wins).
/// What a cache written at this k holds, up to ties at the k-th value (docs: capture once, sweep k).
std::pair<torch::Tensor, torch::Tensor> truncate_top_k(const torch::Tensor& vals_NxKmax,
                                                       const torch::Tensor& idx_NxKmax, int64_t k);

/// The checks make_cache_source runs: the cache in `reader` (attached to `order`) must come from
/// cfg.teacher.checkpoint's weights (when configured; else only its shape is compared), the
/// split's tokenizer and data, data.context, `hint_layer` and objective.top_k, and hold the first `positions` sequences
/// of the seed-run.seed order. InputError naming the field.
void check_cache_matches(const CacheReader& reader, const config::ExperimentConfig& cfg,
                         const config::ModelConfig& shape, int64_t hint_layer, const data::BatchStream& order,
                         int64_t positions);

}  // namespace hld::teacher
