// A teacher whose vocabulary extends the student's. Gemma 3 4B's embedding has 262,208 rows, the
// 270M's and 1B's 262,144: one tokenizer (262,144 pieces), the 4B's rows padded. Such a teacher
// distils into a student of the smaller vocabulary through the ids both share, [0, V_S):
//
//   - the rule (shared_vocab): V_T = V_S, or V_T > V_S when the teacher's tokenizer
//     (tokenizer.model in the teacher's model directory, where import-hf puts it) gives every id
//     of the student's tokenizer (data.tokenizer) the same piece. Anything else is an InputError
//     naming the key: a smaller teacher (model.vocab_size), a missing tokenizer
//     (teacher.checkpoint, data.tokenizer) or disagreeing pieces (the first id that differs);
//   - the teacher's logits are cut to [0, V_S) before anything reads them (ExtraVocabMass::restrict,
//     in the one forward the online teacher, cache-teacher and `--verify` share): top-k, sampled
//     draws and the log-sum-exp are those of the teacher's distribution renormalised over the
//     shared ids, and a cache stores V_S-ids (its layout's vocab_size is V_S);
//   - the mass the teacher puts on the extra ids, 1 − Σ_{v<V_S} p_T(v), is measured on every
//     forward and reported (cache index "extra_vocab_mass", cache-teacher's output, the online
//     teacher's closing log line); a forward whose mean over its tokens exceeds
//     teacher.max_extra_vocab_mass stops the run (InputError naming the key: exit 2), since
//     renormalising over the shared ids would then change the teacher's distribution materially.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "hld/config/experiment.h"

namespace hld::teacher {

struct SharedVocab {
  int64_t shared = 0;   ///< V_S: the ids KD, caches, --verify and flops use
  int64_t teacher = 0;  ///< V_T ≥ V_S: the teacher's embedding rows
  int64_t extra() const { return teacher - shared; }
};

/// The rule above for `cfg`'s student and a teacher of shape `teacher` (InputError naming the key).
SharedVocab shared_vocab(const config::ExperimentConfig& cfg, const config::ModelConfig& teacher);

/// Restricts teacher logits to the shared ids and measures the probability on the others.
class ExtraVocabMass {
 public:
  ExtraVocabMass(int64_t shared, int64_t teacher_vocab, double bound);
  /// logits_RxV[:, :V_S]; adds each row's extra mass (float64, from the float32 logits). InputError
  /// naming teacher.max_extra_vocab_mass when this call's mean exceeds the bound.
  torch::Tensor restrict(const torch::Tensor& logits_RxV);
  /// Continues the running totals of an earlier, interrupted measurement (a resumed cache).
  void resume(double sum, double max, int64_t tokens);
  double sum() const;
  double max() const;
  int64_t tokens() const;
  double mean() const { return tokens() > 0 ? sum() / double(tokens()) : 0.0; }
  /// "mean 1.2e-05, max 3.4e-04 over 29696 tokens on the 64 ids beyond the shared 262144"
  std::string summary() const;

 private:
  int64_t shared_, teacher_;
  double bound_;
  mutable std::mutex mu_;
  double sum_ = 0, max_ = 0;
  int64_t tokens_ = 0;
};

}  // namespace hld::teacher
