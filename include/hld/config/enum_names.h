// The spelling of every enum value of the experiment config, once: the parser reads these tables,
// `to_yaml` and `config::to_string` write them. (The objective names are spec/objective.h's, the
// cache encodings io/teacher_cache_codec.h's.)
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "hld/config/experiment.h"

namespace hld::config {

template <class E>
using NameTable = std::vector<std::pair<std::string, E>>;

const NameTable<BudgetUnit>& budget_unit_names();
const NameTable<RegressorKind>& regressor_names();
const NameTable<Divergence>& divergence_names();
const NameTable<TailMode>& tail_mode_names();
const NameTable<TeacherLogits>& teacher_logits_names();
const NameTable<HiddenLoss>& hidden_loss_names();
const NameTable<ActivationCheckpointing>& checkpointing_names();

/// The name of `e` in `table` ("?" when missing).
template <class E>
const char* name_in(const NameTable<E>& table, E e) {
  for (const auto& [n, v] : table)
    if (v == e) return n.c_str();
  return "?";
}

}  // namespace hld::config
