// `hld-train cache-teacher --verify`: re-reads every chunk of a teacher cache (sizes, headers,
// checksums, record decoding) and measures its compression error against a fresh teacher
// forward on a sample of its sequences.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "hld/config/experiment.h"

namespace hld::teacher {

struct VerifyOptions {
  int64_t sample_sequences = 4;  ///< sequences compared with a fresh teacher forward (0: none)
  std::string student;           ///< student model for the KD comparison ("": cfg.model at init)
};

struct VerifyReport {
  int64_t chunks_planned = 0, chunks_ok = 0;
  std::vector<std::string> errors;     ///< one per bad/missing chunk or header mismatch
  uint64_t chunk_bytes = 0;            ///< bytes of the finished chunk files
  double bytes_per_token = 0;          ///< chunk bytes / cached tokens (records + row tables + headers)
  int64_t record_bytes_per_token = 0;  ///< logits + hidden record bytes of one token

  // Compression error on the sample (only when the teacher could be run).
  int64_t sample_sequences = 0, sample_tokens = 0;
  double topk_same_set = 0;       ///< fraction of tokens whose cached top-k ids equal the fresh ones
  double logits_max_abs_err = 0;  ///< max |Δ| of the values, both shifted to a max of 0, same-set tokens
  double kd_fresh = 0, kd_cached = 0, kd_rel_diff = 0;                 ///< KD loss of the student (options.student,
                                                                       ///< else cfg.model initialised with run.seed)
  double kd_self_fresh = 0, kd_self_cached = 0, kd_self_rel_diff = 0;  ///< with the teacher's own full
                                                                       ///< logits as the student
  double hidden_cos_mean = 0, hidden_cos_min = 0;  ///< cosine of cached vs fresh states (every layer)
  double logz_max_abs_err = 0;  ///< max |Δ| of the cached log-sum-exp against the fresh one (format 3)
  // Sampled caches: topk_same_set is then the fraction of tokens whose draws a fresh sampling
  // repeats, kd_fresh / kd_self_fresh the full-vocabulary KL and kd_cached / kd_self_cached its
  // sparse estimate from the cache.
  bool sampled = false;
  double estimator_error = 0;   ///< mean over tokens of (estimate − full KL), τ² scale, for the student
  double estimator_se = 0;      ///< its standard error (the draws are independent per token)
  double topk_bias = 0;         ///< the same for the top-k renormalised loss at the same k (paper's)
  std::vector<int64_t> layers;  ///< teacher layers the cache stores
  bool has_logz = false;        ///< it stores the log-sum-exp

  bool ok() const { return errors.empty(); }
  nlohmann::json to_json() const;
};

/// Verifies cfg.teacher.cache against cfg. Problems with the cache are collected in `errors`;
/// InputError only when the cache or config cannot be read at all.
VerifyReport verify_teacher_cache(const config::ExperimentConfig& cfg, const VerifyOptions& opts);

}  // namespace hld::teacher
