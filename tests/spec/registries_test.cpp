// The registries of spec/: every objective and evaluation task is complete and consistent, and
// each one reaches the code that serves it (the config parser, the budget, the task readers).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "hld/budget/plan.h"
#include "hld/config/loader.h"
#include "hld/eval/tasks.h"
#include "hld/spec/eval_task.h"
#include "hld/spec/objective.h"
#include "hld/util/error.h"

namespace hld::spec {
namespace {

const char* kModels =
    "model: {vocab_size: 64, hidden_size: 16, intermediate_size: 32, num_layers: 4, num_heads: 2,"
    " num_kv_heads: 1, head_dim: 8, query_pre_attn_scalar: 8, sliding_window: 8}\n"
    "teacher: {model: {vocab_size: 64, hidden_size: 24, intermediate_size: 48, num_layers: 4, num_heads: 2,"
    " num_kv_heads: 1, head_dim: 8, query_pre_attn_scalar: 8, sliding_window: 8}}\n"
    "data: {context: 16, batch_size: 2}\nbudget: {unit: flops, amount: 1e10}\n";

std::string with_objective(const std::string& name) {
  return std::string(kModels) + "objective: {name: " + name + ", top_k: 8}\n";
}

TEST(ObjectiveRegistry, NamesAreUniqueAndParse) {
  std::set<std::string> names, labels;
  for (const auto& s : registry()) {
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
    EXPECT_TRUE(labels.insert(s.label).second) << s.label;
    EXPECT_EQ(find(s.name), &s);
    EXPECT_EQ(&of(s.id), &s);
    EXPECT_FALSE(s.phases.empty()) << s.name;
    const auto cfg = config::load_string(with_objective(s.name));
    EXPECT_EQ(cfg.objective.name, s.id);
    EXPECT_EQ(config::to_string(cfg.objective.name), std::string(s.name));
  }
  EXPECT_EQ(find("nope"), nullptr);
  try {
    config::load_string(with_objective("nope"));
    ADD_FAILURE() << "an unknown objective was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("objective.name"), std::string::npos) << e.what();
  }
}

TEST(ObjectiveRegistry, ReferencesFormOneTreeRootedAtABaseline) {
  for (const auto& s : registry()) {
    // Following references ends at an objective without one (NLL) within the registry's size.
    const ObjectiveSpec* x = &s;
    size_t hops = 0;
    while (x->reference && hops <= registry().size()) x = &of(*x->reference), ++hops;
    EXPECT_FALSE(x->reference) << s.name << ": its references loop";
    EXPECT_EQ(s.reads_teacher(), s.reference.has_value()) << s.name << ": a distilled objective has a reference";
    EXPECT_EQ(s.variant_reference.has_value(), s.reference.has_value()) << s.name;
  }
}

TEST(ObjectiveRegistry, PhasesMatchTheirHyperParametersAndCosts) {
  for (const auto& s : registry()) {
    bool p1_share = false, hidden_main = false;
    for (const auto& p : s.phases) {
      p1_share |= p.share == BudgetShare::kP1;
      hidden_main |= p.loss == Phase::kMain && p.needs.teacher_hidden;
      if (p.regressor) {
        EXPECT_TRUE(p.cost == CostModel::kHldc || p.cost == CostModel::kHt) << s.name;
      }
      if (p.needs.teacher_logits) {
        EXPECT_TRUE(s.has(kAlpha) && s.has(kTemperature)) << s.name;
      }
      if (p.loss == Phase::kHint) {
        EXPECT_TRUE(p.needs.teacher_hidden && p.regressor) << s.name;
      }
    }
    EXPECT_EQ(p1_share, s.has(kP1)) << s.name << ": objective.p1 defines a point exactly when it splits the budget";
    EXPECT_EQ(hidden_main, s.has(kGamma)) << s.name << ": objective.gamma weighs a main phase's hidden term";
    // Every objective plans under a FLOPs budget with a teacher shape.
    const auto cfg = config::load_string(with_objective(s.name));
    const auto plan = budget::plan(cfg);
    ASSERT_EQ(plan.phases.size(), s.phases.size()) << s.name;
    EXPECT_EQ(plan.regressor_params.has_value(), s.uses_regressor()) << s.name;
  }
}

TEST(EvalTaskRegistry, EveryTaskParsesAndEveryChoiceTaskHasAReader) {
  std::set<std::string> names, columns;
  for (const auto& t : eval_tasks()) {
    EXPECT_TRUE(names.insert(t.name).second) << t.name;
    EXPECT_TRUE(columns.insert(t.column).second) << t.column;
    EXPECT_EQ(find_eval_task(t.name), &t);
    const auto cfg = config::load_string(with_objective("nll") + "eval: {tasks: {" + t.name + ": /nonexistent}}\n");
    EXPECT_EQ(cfg.eval.tasks.count(t.name), 1u);
    if (t.kind == TaskKind::kChoice) {
      // A reader exists: it opens the file and names it (an InputError), it does not throw logic_error.
      try {
        eval::read_choice_task(t.name, "/nonexistent/" + std::string(t.name) + ".jsonl", "/nonexistent/labels", 1);
        ADD_FAILURE() << t.name << ": a missing file was read";
      } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/"), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_THROW(config::load_string(with_objective("nll") + "eval: {tasks: {nope: /x}}\n"), InputError);
}

}  // namespace
}  // namespace hld::spec
