// A teacher whose vocabulary extends the student's: the rule and the measurement
// (include/hld/teacher/shared_vocab.h).
#include "hld/teacher/shared_vocab.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <filesystem>

#include "hld/data/tokenizer.h"
#include "hld/model/model_io.h"
#include "hld/util/error.h"

namespace fs = std::filesystem;

namespace hld::teacher {

SharedVocab shared_vocab(const config::ExperimentConfig& cfg, const config::ModelConfig& teacher) {
  const int64_t vs = cfg.model.vocab_size, vt = teacher.vocab_size;
  HLD_INPUT_CHECK(vt >= vs, "model.vocab_size = " + std::to_string(vs) + ": the teacher's vocabulary (" +
                                std::to_string(vt) + ") is smaller; a teacher must cover the student's ids");
  if (vt == vs) return {vs, vt};
  // The ids [0, V_S) must mean the same in both: compare the tokenizers piece by piece.
  const std::string why = "the teacher's vocabulary (" + std::to_string(vt) + ") extends the student's (" +
                          std::to_string(vs) + "), so the two tokenizers must agree on the shared ids";
  HLD_INPUT_CHECK(!cfg.teacher.checkpoint.empty(), "teacher.checkpoint: " + why + " and teacher.model alone has none");
  const fs::path tdir = model::resolve_model_dir(cfg.teacher.checkpoint);
  const std::string ttok = (tdir / "tokenizer.model").string();
  HLD_INPUT_CHECK(fs::is_regular_file(ttok), "teacher.checkpoint '" + cfg.teacher.checkpoint + "': " + why +
                                                 ", and it has no tokenizer.model (" + ttok + ")");
  HLD_INPUT_CHECK(!cfg.data.tokenizer.empty() && fs::is_regular_file(cfg.data.tokenizer),
                  "data.tokenizer '" + cfg.data.tokenizer + "': " + why + ", and the student's tokenizer is missing");
  const data::Tokenizer st(cfg.data.tokenizer), tt(ttok);
  HLD_INPUT_CHECK(st.vocab_size() <= vs, "data.tokenizer '" + cfg.data.tokenizer + "' has " +
                                             std::to_string(st.vocab_size()) +
                                             " pieces, more than model.vocab_size = " + std::to_string(vs));
  HLD_INPUT_CHECK(tt.vocab_size() >= st.vocab_size(),
                  "teacher.checkpoint '" + cfg.teacher.checkpoint + "': its tokenizer (" + ttok + ") has " +
                      std::to_string(tt.vocab_size()) + " pieces, fewer than data.tokenizer's " +
                      std::to_string(st.vocab_size()) + ": " + why);
  if (st.hash() != tt.hash())
    for (int32_t id = 0; id < st.vocab_size(); ++id) {
      const std::string a = st.id_to_piece(id), b = tt.id_to_piece(id);
      HLD_INPUT_CHECK(a == b, "data.tokenizer '" + cfg.data.tokenizer + "' and the tokenizer of teacher.checkpoint (" +
                                  ttok + ") disagree: id " + std::to_string(id) + " is '" + a + "' for the student, '" +
                                  b + "' for the teacher; " + why);
    }
  return {vs, vt};
}

ExtraVocabMass::ExtraVocabMass(int64_t shared, int64_t teacher_vocab, double bound)
    : shared_(shared), teacher_(teacher_vocab), bound_(bound) {}

torch::Tensor ExtraVocabMass::restrict(const torch::Tensor& logits_RxV) {
  TORCH_CHECK(logits_RxV.size(-1) == teacher_, "ExtraVocabMass: expected ", teacher_, " logits per row, got ",
              logits_RxV.size(-1));
  const auto z_RxV = logits_RxV.to(torch::kFloat32);
  // p(extra) = exp(logsumexp(z_extra) − logsumexp(z)), in float64 from the float32 logits.
  const auto lse_all_R = torch::logsumexp(z_RxV, -1).to(torch::kFloat64);
  const auto lse_extra_R = torch::logsumexp(z_RxV.narrow(-1, shared_, teacher_ - shared_), -1).to(torch::kFloat64);
  const auto mass_R = (lse_extra_R - lse_all_R).exp().to(torch::kCPU);
  const int64_t n = mass_R.numel();
  const double s = mass_R.sum().item<double>(), m = n ? mass_R.max().item<double>() : 0.0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sum_ += s;
    max_ = std::max(max_, m);
    tokens_ += n;
  }
  const double mean = n ? s / double(n) : 0.0;
  HLD_INPUT_CHECK(mean <= bound_, fmt::format("teacher.max_extra_vocab_mass = {:g}: the teacher puts a mean {:.4g} "
                                              "(max {:.4g}) of its probability over {} tokens on the {} ids beyond the "
                                              "student's vocabulary ({}); raise the bound to distil anyway",
                                              bound_, mean, m, n, teacher_ - shared_, shared_));
  return logits_RxV.narrow(-1, 0, shared_);
}

void ExtraVocabMass::resume(double sum, double max, int64_t tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  sum_ += sum;
  max_ = std::max(max_, max);
  tokens_ += tokens;
}

double ExtraVocabMass::sum() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sum_;
}
double ExtraVocabMass::max() const {
  std::lock_guard<std::mutex> lock(mu_);
  return max_;
}
int64_t ExtraVocabMass::tokens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_;
}

std::string ExtraVocabMass::summary() const {
  return fmt::format("mean {:.4g}, max {:.4g} over {} tokens on the {} ids beyond the shared {}", mean(), max(),
                     tokens(), teacher_ - shared_, shared_);
}

}  // namespace hld::teacher
