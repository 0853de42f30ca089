// The experiment configuration: plain structs filled once from YAML by config::load() and
// read-only afterwards. Every field has its default and the reason for it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hld/config/model_config.h"
#include "hld/spec/objective.h"

namespace hld::config {

enum class ActivationCheckpointing { kNone, kBlocks, kEveryK };

struct RunConfig {
  std::string dir = "runs/default";  ///< run folder: resolved config, checkpoints, metrics, eval
  uint64_t seed = 0;                 ///< init, data order; CPU runs are bitwise reproducible
  std::string device = "auto";       ///< cpu | cuda | cuda:N | auto (cuda when available)
  std::string dtype = "float32";     ///< float32 | bfloat16 (autocast with float32 master weights)
  int64_t log_every = 10;            ///< steps between progress lines / metrics records
  int64_t checkpoint_every = 0;      ///< steps between checkpoints (0: only at the end)
  int64_t keep_checkpoints = 2;      ///< how many recent checkpoints to keep
  int64_t eval_every = 0;            ///< steps between held-out evaluations (0: only at the end)
  int64_t eval_batches = 8;          ///< held-out batches per periodic evaluation
  int64_t threads = 0;               ///< intra-op CPU threads (0: all cores)
  double peak_flops = 0;             ///< MFU denominator in FLOP/s (0: measured once per machine)
  int64_t max_bad_steps = 0;         ///< non-finite steps skipped before stopping (0: stop at once)
  bool check_resources = true;       ///< refuse up front what the device memory or the disk cannot hold
  int64_t zero = 0;                  ///< 0: replicated optimizer state | 1: ZeRO-1 (AdamW state sharded over ranks)
  ActivationCheckpointing activation_checkpointing = ActivationCheckpointing::kNone;  ///< none | blocks | every_k
  int64_t activation_checkpointing_k = 2;  ///< every_k: recompute every k-th block (store its input only)
  /// Signals that end a run cleanly: every rank finishes its step, one checkpoint is written and the
  /// process exits with kExitRequeue (75); a second signal ends it at once. "none": default actions.
  std::string exit_signals = "SIGTERM,SIGINT,SIGUSR1";
  /// Wall-clock limit from the process's start ("23h50m", "90m", "3600s"; "none": no limit); Slurm's
  /// job end time (SLURM_JOB_END_TIME) applies too. The run checkpoints and exits 75 before it.
  std::string time_limit = "none";
};

struct DataConfig {
  std::string train = "";      ///< token shard directory (from `hld-train prepare`)
  std::string valid = "";      ///< held-out shard directory
  std::string tokenizer = "";  ///< SentencePiece .model path
  int64_t context = 2048;      ///< sequence length (paper: 2048)
  int64_t batch_size = 256;    ///< sequences per optimizer step per rank (paper: 256)
  int64_t grad_accum = 1;      ///< micro-batches per optimizer step (batch_size divisible)
  int64_t prefetch = 2;        ///< micro-batches (tokens + cached teacher signals) prepared ahead
                               ///< on a background thread; 0: prepared inline
};

using spec::Objective;      // the objectives and everything about them: spec/objective.h
using spec::RegressorKind;  // the hint regressor kinds (spec/objective.h)
/// Logit divergence D(p_T ‖ p_S) over the cached support (docs/objectives.md).
enum class Divergence { kForwardKl, kReverseKl, kJsd, kSkewKl, kTvd };
/// Teacher mass outside the cached top-k: renormalised away (paper) or kept as one extra category.
enum class TailMode { kRenormalise, kBucket };
/// Hidden-state distance of one (student, teacher) layer pair.
enum class HiddenLoss { kNmse, kCosine, kMse };

/// One hidden-layer pair of HLDC/HLDF: student block output ↔ teacher block output (1-based).
struct HiddenPair {
  int64_t student = -1;                    ///< student block (-1: D_S/2)
  int64_t teacher = -1;                    ///< teacher block (-1: D_T/2)
  double weight = 1.0;                     ///< weight of this pair in the hidden loss
  HiddenLoss loss = HiddenLoss::kNmse;     ///< nmse (paper) | cosine | mse
  std::optional<RegressorKind> regressor;  ///< unset: objective.regressor's default
};

struct ObjectiveConfig {
  Objective name = Objective::kNll;                ///< spec::registry() names: nll | kd | hldc | hldf | ...
  double alpha = 0.9;                              ///< KD weight α (β = 1 − α on NLL)
  double temperature = 1.0;                        ///< τ, applied to teacher and student logits
  int64_t top_k = 128;                             ///< teacher logits kept (paper: 128); k = vocab: full
  double gamma = 0.1;                              ///< HLDC weight γ of the hidden-state loss
  double p1 = 0.01;                                ///< HLDF share of the budget spent in phase 1
  int64_t student_layer = -1;                      ///< student hint layer (-1: D_S/2)
  int64_t teacher_layer = -1;                      ///< teacher hint layer (-1: D_T/2)
  std::optional<RegressorKind> regressor;          ///< unset: linear for HLDC, mlp for HLDF (paper)
  double regressor_expansion = 4;                  ///< MLP hidden width = expansion × d_S (paper: 4)
  std::string hidden_reduction = "mean";           ///< mean over tokens and dims (paper) | sum_dims
  Divergence divergence = Divergence::kForwardKl;  ///< forward_kl (paper) | reverse_kl | jsd | skew_kl | tvd
  double jsd_beta = 0.5;                           ///< jsd: β (0: forward KL, 1: reverse KL, as TRL defines it)
  double skew = 0.9;  ///< skew_kl: λ in KL(p_T ‖ λ p_S + (1−λ) p_T); 1: forward KL; 0.9: DistiLLM's α = 0.1
  TailMode tail = TailMode::kRenormalise;  ///< renormalise (paper) | bucket (needs the cache's log-sum-exp)
  std::vector<HiddenPair> hidden_pairs;    ///< empty: one pair from student_layer/teacher_layer (paper)
  std::string hidden_map = "";             ///< "" | uniform: student block i ↔ teacher round((i+1)·D_T/D_S) − 1
};

struct OptimConfig {
  double lr = 4e-4;                         ///< peak η (paper grid {1,4,16}e-4)
  double beta1 = 0.9, beta2 = 0.98;         ///< paper
  double eps = 1e-9;                        ///< paper
  double weight_decay = 0.1;                ///< paper; decoupled (AdamW)
  bool decay_norms_and_embeddings = false;  ///< norms/embeddings are usually excluded
  double grad_clip = 0.0;                   ///< global-norm clip (0: off; the paper does not clip)
};

struct ScheduleConfig {
  int64_t warmup_steps = 1000;       ///< linear warm-up (paper: 1000)
  double decay_fraction = 0.1;       ///< WSD decay over the last 10 % of steps
  double final_lr_ratio = 0.01;      ///< decay ends at η/100
  double hint_lr = 0;                ///< η_HT for HLDF phase 1 (0: same as optimizer.lr)
  int64_t hint_warmup_steps = 1000;  ///< phase-1 warm-up, then constant (no decay)
};

enum class TeacherLogits { kTopk, kSampled };

enum class BudgetUnit { kSteps, kTokens, kFlops, kOt };

struct BudgetConfig {
  BudgetUnit unit = BudgetUnit::kSteps;  ///< steps | tokens (NLL-equivalent) | flops | ot
  double amount = 100;                   ///< in the unit above (ot: k of OT_k)
  bool count_teacher = false;            ///< count the teacher forward (online) in the FLOPs
};

struct TeacherConfig {
  std::optional<ModelConfig> model;             ///< teacher shape (else taken from the checkpoint)
  std::string checkpoint = "";                  ///< hld-train checkpoint/run dir or Hugging Face dir
  std::string source = "online";                ///< online | cache
  std::string cache = "";                       ///< teacher-cache directory (source: cache)
  std::string logits_encoding = "bf16";         ///< cache: bf16 | logq8 (quantised log-probabilities)
  std::string hidden_encoding = "bf16";         ///< cache: bf16 | dir8 (8-bit unit direction + scale)
  int64_t cache_tokens = 0;                     ///< tokens to cache (0: what the budget needs)
  TeacherLogits logits = TeacherLogits::kTopk;  ///< topk (paper) | sampled (objective.top_k draws from the teacher's
                                                ///< softmax at objective.temperature, with counts: unbiased KD)
  uint64_t sample_seed = 0;  ///< sampled: seed of the draws (each sequence's draws depend on it and its id only)
  double max_extra_vocab_mass = 0.01;  ///< a teacher vocabulary beyond the student's: the largest mean probability
                                       ///< on the extra ids a forward may have (teacher/shared_vocab.h)
};

struct EvalConfig {
  std::map<std::string, std::string> tasks;  ///< task name → file (c4, wikitext, hellaswag, ...)
  std::string piqa_labels = "";              ///< PIQA valid-labels.lst
  int64_t max_examples = 0;                  ///< per task (0: all)
  int64_t batch_size = 16;                   ///< sequences per scoring forward
  int64_t context = 0;                       ///< scoring window (0: data.context)
  std::string checkpoint = "";               ///< model to evaluate (default: the run's latest)
  std::string output = "";                   ///< eval JSON path (default: RUN/eval.json)
  std::string add_bos = "auto";              ///< auto | true | false: BOS before every context; auto: as
                                             ///< the model was trained (Gemma from HF, BOS shards: true)
  std::string prefix_token = "auto";         ///< auto | bos | eos | <id>: empty-context / rolling-window
                                             ///< prefix; auto: BOS with add_bos or a BOS model, else EOS
};

struct ExperimentConfig {
  RunConfig run;
  ModelConfig model;
  DataConfig data;
  ObjectiveConfig objective;
  OptimConfig optimizer;
  ScheduleConfig schedule;
  BudgetConfig budget;
  TeacherConfig teacher;
  EvalConfig eval;
  std::string source_path;    ///< the YAML file this came from
  std::string resolved_yaml;  ///< the complete config (config::to_yaml: every default written out)
  std::string merged_yaml;    ///< the YAML as given, after includes and overrides (older run folders'
                              ///< fingerprints were computed from it)

  bool needs_teacher() const { return spec::of(objective.name).reads_teacher(); }
  /// Student hint layer after defaults (D_S/2).
  int64_t student_hint_layer() const;
  /// Teacher hint layer after defaults (D_T/2) for a teacher of shape `teacher` (its config or
  /// checkpoint); the one place that default is worked out.
  int64_t teacher_hint_layer(const ModelConfig& teacher) const;
  /// The hint regressor after defaults (objective.regressor, else the objective's registered one).
  RegressorKind regressor_kind() const;
};

/// The hint regressor of objective `which` under `o`: objective.regressor when set, else the
/// objective's registered default (spec/objective.h). The one place that default is applied.
RegressorKind regressor_kind_for(const ObjectiveConfig& o, Objective which);

const char* to_string(Objective o);
const char* to_string(RegressorKind r);
const char* to_string(BudgetUnit u);
const char* to_string(Divergence d);
const char* to_string(TailMode t);
const char* to_string(HiddenLoss l);
const char* to_string(TeacherLogits l);
const char* to_string(ActivationCheckpointing a);

/// What a config does beyond the paper's objective (docs/objectives.md) as a short label —
/// "reverse_kl, tail bucket", "sampled logits", "uniform layer map" — "" for the paper's own
/// (and for NLL): the report's variant rows and `hld-train flops` print it.
std::string variant_label(const ExperimentConfig& c);

}  // namespace hld::config
