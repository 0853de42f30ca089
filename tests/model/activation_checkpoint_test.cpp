// Activation checkpointing: losses and every gradient bitwise equal to the plain block loop on CPU,
// for every objective and phase, with checkpointing of every block and of every k-th block.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <set>
#include <string>

#include "hld/config/loader.h"
#include "hld/model/activation_checkpoint.h"
#include "hld/model/transformer.h"
#include "hld/objectives/objective.h"
#include "hld/spec/objective.h"
#include "hld/teacher/teacher.h"

namespace hld::model {
namespace {

const char* kYaml = R"(
model: {name: ckpt_student, vocab_size: 96, hidden_size: 32, intermediate_size: 64, num_layers: 4,
        num_heads: 2, num_kv_heads: 1, head_dim: 16, query_pre_attn_scalar: 16, sliding_window: 6,
        sliding_window_pattern: 2}
teacher:
  model: {name: ckpt_teacher, vocab_size: 96, hidden_size: 48, intermediate_size: 96, num_layers: 4,
          num_heads: 2, num_kv_heads: 1, head_dim: 24, query_pre_attn_scalar: 24, sliding_window: 6,
          sliding_window_pattern: 2}
data: {context: 16, batch_size: 3}
objective: {top_k: 8}
)";

/// Checkpoint-function nodes reachable from `root` in the autograd graph.
int count_checkpoint_nodes(const std::shared_ptr<torch::autograd::Node>& root) {
  std::set<torch::autograd::Node*> seen;
  std::function<int(torch::autograd::Node*)> walk = [&](torch::autograd::Node* n) {
    if (!n || !seen.insert(n).second) return 0;
    int c = n->name().find("CheckpointFn") != std::string::npos ? 1 : 0;
    for (const auto& e : n->next_edges()) c += walk(e.function.get());
    return c;
  };
  return walk(root.get());
}

struct PhaseRun {
  objectives::LossOutput out;
  std::vector<std::pair<std::string, torch::Tensor>> grads;
  int checkpoint_nodes = 0;
};

/// One micro-batch of `phase` with the student checkpointing every `every` blocks; same seeds each call.
PhaseRun run_phase(const config::ExperimentConfig& cfg, int phase_index, int64_t every, int micro_batches = 2) {
  const auto& phase = spec::of(cfg.objective.name).phases.at(phase_index);
  torch::manual_seed(7);
  Transformer teacher(*cfg.teacher.model);
  torch::manual_seed(11);
  Transformer student(cfg.model);
  objectives::Regressor reg{nullptr};
  if (phase.regressor)
    reg = objectives::Regressor(std::vector{cfg.regressor_kind()}, cfg.model.hidden_size,
                                cfg.teacher.model->hidden_size, cfg.objective.regressor_expansion);
  student->set_checkpoint_every(every);
  PhaseRun r;
  for (int m = 0; m < micro_batches; ++m) {
    auto ids_BxT1 = torch::randint(0, cfg.model.vocab_size, {cfg.data.batch_size, cfg.data.context + 1},
                                   torch::TensorOptions().dtype(torch::kInt64));
    auto input_BxT = ids_BxT1.narrow(1, 0, cfg.data.context), target_BxT = ids_BxT1.narrow(1, 1, cfg.data.context);
    objectives::TeacherSignals sig;
    if (phase.needs.any())
      sig = teacher::forward_signals(teacher, input_BxT, phase.needs, cfg.objective.top_k,
                                     cfg.teacher_hint_layer(*cfg.teacher.model));
    r.out = objectives::compute_loss(cfg, phase, student, phase.regressor ? &reg : nullptr, input_BxT, target_BxT,
                                     phase.needs.any() ? &sig : nullptr);
    r.checkpoint_nodes = count_checkpoint_nodes(r.out.loss.grad_fn());
    r.out.loss.backward();
  }
  for (const auto& p : student->named_parameters())
    r.grads.emplace_back(p.key(), p.value().grad().defined() ? p.value().grad().clone() : torch::Tensor());
  if (reg)
    for (const auto& p : reg->named_parameters())
      r.grads.emplace_back("regressor." + p.key(), p.value().grad().clone());
  return r;
}

void expect_bitwise(const PhaseRun& plain, const PhaseRun& ck, const std::string& what) {
  EXPECT_TRUE(plain.out.loss.equal(ck.out.loss))
      << what << ": loss " << plain.out.loss.item<double>() << " vs " << ck.out.loss.item<double>();
  for (const auto& [k, v] : plain.out.terms) EXPECT_TRUE(v.equal(ck.out.terms.at(k))) << what << ": term " << k;
  ASSERT_EQ(plain.grads.size(), ck.grads.size());
  int with_grad = 0;
  for (size_t i = 0; i < plain.grads.size(); ++i) {
    const auto& [name, g] = plain.grads[i];
    ASSERT_EQ(g.defined(), ck.grads[i].second.defined()) << what << ": " << name;
    if (!g.defined()) continue;
    ++with_grad;
    EXPECT_TRUE(g.equal(ck.grads[i].second))
        << what << ": gradient of " << name << " differs by " << (g - ck.grads[i].second).abs().max().item<double>();
  }
  EXPECT_GT(with_grad, 0) << what;
}

TEST(ActivationCheckpoint, ModeMapsToEvery) {
  EXPECT_EQ(checkpoint_every(config::ActivationCheckpointing::kNone, 3), 0);
  EXPECT_EQ(checkpoint_every(config::ActivationCheckpointing::kBlocks, 3), 1);
  EXPECT_EQ(checkpoint_every(config::ActivationCheckpointing::kEveryK, 3), 3);
  EXPECT_TRUE(checkpoints_block(2, 1));
  EXPECT_FALSE(checkpoints_block(2, 0));
  EXPECT_FALSE(checkpoints_block(0, 0));
}

TEST(ActivationCheckpoint, BitwiseEqualForEveryObjectiveAndPhase) {
  torch::set_num_threads(1);
  for (const char* obj : {"nll", "kd", "hldc", "hldf"}) {
    const auto cfg = config::load_string(kYaml, {std::string("objective.name=") + obj});
    const int n_phases = static_cast<int>(spec::of(cfg.objective.name).phases.size());
    for (int p = 0; p < n_phases; ++p) {
      const PhaseRun plain = run_phase(cfg, p, 0);
      EXPECT_EQ(plain.checkpoint_nodes, 0);
      for (int64_t every : {1, 2}) {
        const std::string what = std::string(obj) + " phase " + std::to_string(p) + " every " + std::to_string(every);
        const PhaseRun ck = run_phase(cfg, p, every);
        EXPECT_GT(ck.checkpoint_nodes, 0) << what << ": no block was checkpointed";
        expect_bitwise(plain, ck, what);
      }
    }
  }
}

TEST(ActivationCheckpoint, BitwiseEqualWithSeveralHiddenStatesAndThreads) {
  // Several residual streams returned (the blocks reading them run plainly), two threads.
  torch::set_num_threads(2);
  const auto cfg = config::load_string(kYaml, {});
  auto run = [&](int64_t every) {
    torch::manual_seed(5);
    Transformer m(cfg.model);
    m->set_checkpoint_every(every);
    auto ids = torch::randint(0, cfg.model.vocab_size, {2, 16}, torch::TensorOptions().dtype(torch::kInt64));
    ForwardOptions fo;
    fo.hidden_layers = {0, 1, 3, 4};
    auto out = m->forward(ids, fo);
    auto loss = out.logits_BxTxV.logsumexp(-1).mean();
    for (const auto& [layer, h] : out.hidden) loss = loss + h.pow(2).mean() * static_cast<double>(layer + 1);
    loss.backward();
    std::vector<torch::Tensor> g{loss.detach()};
    for (const auto& p : m->parameters()) g.push_back(p.grad().clone());
    return g;
  };
  const auto plain = run(0);
  for (int64_t every : {1, 2}) {
    const auto ck = run(every);
    ASSERT_EQ(plain.size(), ck.size());
    for (size_t i = 0; i < plain.size(); ++i)
      EXPECT_TRUE(plain[i].equal(ck[i])) << "every " << every << " tensor " << i;
  }
  torch::set_num_threads(1);
}

TEST(ActivationCheckpoint, CheckpointedNodesCountFollowsEveryK) {
  torch::set_num_threads(1);
  const auto cfg = config::load_string(kYaml, {"objective.name=nll"});
  EXPECT_EQ(run_phase(cfg, 0, 1, 1).checkpoint_nodes, 4);
  EXPECT_EQ(run_phase(cfg, 0, 2, 1).checkpoint_nodes, 2);  // blocks 2 and 4
  EXPECT_EQ(run_phase(cfg, 0, 3, 1).checkpoint_nodes, 1);  // block 3
}

TEST(ActivationCheckpoint, NoGradForwardIsPlain) {
  const auto cfg = config::load_string(kYaml, {});
  torch::manual_seed(3);
  Transformer m(cfg.model);
  auto ids = torch::randint(0, cfg.model.vocab_size, {2, 16}, torch::TensorOptions().dtype(torch::kInt64));
  torch::Tensor a, b;
  {
    torch::NoGradGuard ng;
    a = m->forward(ids).logits_BxTxV;
    m->set_checkpoint_every(1);
    b = m->forward(ids).logits_BxTxV;
  }
  EXPECT_TRUE(a.equal(b));
  EXPECT_FALSE(b.requires_grad());
}

}  // namespace
}  // namespace hld::model
