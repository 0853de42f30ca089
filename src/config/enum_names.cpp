// The config's enum spellings (see enum_names.h).
#include "hld/config/enum_names.h"

namespace hld::config {

const NameTable<BudgetUnit>& budget_unit_names() {
  static const NameTable<BudgetUnit> t = {{"steps", BudgetUnit::kSteps},
                                          {"tokens", BudgetUnit::kTokens},
                                          {"flops", BudgetUnit::kFlops},
                                          {"ot", BudgetUnit::kOt}};
  return t;
}

const NameTable<RegressorKind>& regressor_names() {
  static const NameTable<RegressorKind> t = {
      {"linear", RegressorKind::kLinear}, {"mlp", RegressorKind::kMlp}, {"gated_mlp", RegressorKind::kGatedMlp}};
  return t;
}

const NameTable<Divergence>& divergence_names() {
  static const NameTable<Divergence> t = {{"forward_kl", Divergence::kForwardKl},
                                          {"reverse_kl", Divergence::kReverseKl},
                                          {"jsd", Divergence::kJsd},
                                          {"skew_kl", Divergence::kSkewKl},
                                          {"tvd", Divergence::kTvd}};
  return t;
}

const NameTable<TailMode>& tail_mode_names() {
  static const NameTable<TailMode> t = {{"renormalise", TailMode::kRenormalise}, {"bucket", TailMode::kBucket}};
  return t;
}

const NameTable<TeacherLogits>& teacher_logits_names() {
  static const NameTable<TeacherLogits> t = {{"topk", TeacherLogits::kTopk}, {"sampled", TeacherLogits::kSampled}};
  return t;
}

const NameTable<HiddenLoss>& hidden_loss_names() {
  static const NameTable<HiddenLoss> t = {
      {"nmse", HiddenLoss::kNmse}, {"cosine", HiddenLoss::kCosine}, {"mse", HiddenLoss::kMse}};
  return t;
}

const NameTable<ActivationCheckpointing>& checkpointing_names() {
  static const NameTable<ActivationCheckpointing> t = {{"none", ActivationCheckpointing::kNone},
                                                       {"blocks", ActivationCheckpointing::kBlocks},
                                                       {"every_k", ActivationCheckpointing::kEveryK}};
  return t;
}

}  // namespace hld::config
