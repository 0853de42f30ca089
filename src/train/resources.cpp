// Up-front memory and disk checks of a training run (see resources.h).
#include "hld/train/resources.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <cmath>

#include "hld/budget/costs.h"
#include "hld/config/hidden_pairs.h"
#include "hld/budget/pair_costs.h"
#include "hld/dist/launch_env.h"
#include "hld/model/activation_checkpoint.h"
#include "hld/model/attention.h"
#include "hld/model/model_io.h"
#include "hld/objectives/chunked_lm_loss.h"
#include "hld/runtime/runtime.h"
#include "hld/spec/objective.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace hld::train {
namespace {

// All parameters of a model: backbone + the tied embedding (forward_cost = 2N + 2dV).
double model_params(const config::ModelConfig& m) { return double(budget::forward_cost(m)) / 2; }

// Every hidden pair's regressor (one for the paper's single pair; budget/pair_costs.h).
double regressor_params(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher) {
  if (!teacher) return 0;
  const auto o = cfg.objective.name;
  if (!spec::of(o).uses_regressor()) return 0;
  double n = 0;
  for (const auto& p : budget::pair_costs(cfg, o, teacher)) n += double(p.params);
  return n;
}

// Per-token values kept for backward by one decoder block (norm outputs, q/k/v and their norms
// and rotations, attention output, the gated MLP's four f-wide tensors, residual sums).
double block_values_per_token(const config::ModelConfig& m) {
  return 8.0 * double(m.hidden_size) + 4.0 * double(m.intermediate_size) +
         double(3 * m.num_heads + 4 * m.num_kv_heads) * double(m.head_dim);
}

// Reads a number from a one-line file ("max" and unreadable files give nullopt).
std::optional<double> read_number(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  if (!(in >> s) || s == "max") return std::nullopt;
  try {
    return std::stod(s);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string MemoryEstimate::describe() const {
  std::ostringstream s;
  s << "weights " << util::human_bytes(weights) << " + gradients " << util::human_bytes(gradients)
    << " + AdamW moments " << util::human_bytes(moments)
    << (zero == 1 && world > 1 ? " (1/" + std::to_string(world) + ", ZeRO-1)" : "") << " + activations "
    << util::human_bytes(activations)
    << (checkpointing != config::ActivationCheckpointing::kNone ? std::string(" (checkpointed)") : std::string())
    << " + logits " << util::human_bytes(logits);
  if (teacher > 0) s << " + online teacher " << util::human_bytes(teacher);
  if (validation > step()) s << " (held-out loss " << util::human_bytes(validation) << " instead of the step's)";
  s << " = " << util::human_bytes(total());
  return s.str();
}

namespace {

MemoryEstimate estimate_phase(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher,
                              bool fused_attention, int world, const spec::PhaseSpec& phase) {
  const auto& m = cfg.model;
  const double act_bytes = cfg.run.dtype == "bfloat16" ? 2 : 4;
  const double micro = double(cfg.data.batch_size / std::max<int64_t>(1, cfg.data.grad_accum));
  const double T = double(cfg.data.context), tokens = micro * T, V = double(m.vocab_size);
  const double regressors = regressor_params(cfg, teacher);  // built once, held all run
  // The blocks the phase runs and the parameters it trains (HLDF's hint phase: the embedding and
  // blocks 1..m_S, and the regressors).
  const bool first_blocks = phase.trains == spec::Trains::kFirstBlocks;
  const double blocks_run = first_blocks ? double(config::deepest_student_layer(cfg)) : double(m.num_layers);
  const auto counts = config::count_params(m);
  const double trained = (first_blocks ? double(counts.first_blocks(int64_t(blocks_run))) : model_params(m)) +
                         (phase.regressor ? regressors : 0);
  MemoryEstimate e;
  e.phase = phase.name;
  e.world = std::max(1, world);
  e.zero = cfg.run.zero;
  e.checkpointing = cfg.run.activation_checkpointing;
  e.checkpointing_k = cfg.run.activation_checkpointing_k;
  e.weights =
      4 * (model_params(m) + regressors) + (cfg.run.dtype == "bfloat16" ? 2 * trained : 0);  // + autocast's bf16 copies
  e.gradients = 4 * trained;
  // ZeRO-1: this rank's slices of the two moments (+ the all-gather's padded bucket pieces).
  e.moments = e.zero == 1 && e.world > 1 ? 8 * trained / e.world + 2.0 * double(25 << 20) : 8 * trained;
  e.optimizer = e.gradients + e.moments;
  // Blocks recomputed in backward keep only their input (d values per token); while one of them
  // is recomputed its full set of values exists once more.
  const int64_t every = model::checkpoint_every(cfg.run.activation_checkpointing, cfg.run.activation_checkpointing_k);
  const double ck = every > 0 ? std::floor(blocks_run / double(every)) : 0;
  const double full_blocks = blocks_run - ck + (ck > 0 ? 1 : 0);
  // 25 % over the per-block count for the allocator's slack and smaller saved tensors.
  double per_token =
      1.25 * (full_blocks * block_values_per_token(m) + ck * double(m.hidden_size) + 2.0 * double(m.hidden_size));
  e.activations = per_token * tokens * act_bytes;
  // Attention scores and probabilities (float32) kept for backward, as model/attention decides per
  // layer: none with CUDA's fused kernels; [B, H, T, T] where the eager path reads its mask (CPU
  // global layers, short sequences); [B, H, T, 2W] on the banded path (CPU sliding layers, T ≥ 4W).
  double scores = 0;
  const auto device = torch::Device(fused_attention ? torch::kCUDA : torch::kCPU);
  for (int64_t i = 0; i < int64_t(blocks_run) && !fused_attention; ++i) {
    const int64_t window = m.layer_type(i) == config::AttentionType::kGlobal ? 0 : m.sliding_window;
    const double keys = model::attention_reads_mask(device, window, int64_t(T)) ? T : 2.0 * double(window);
    scores += micro * double(m.num_heads) * T * keys * 4 * 2;
  }
  e.activations += blocks_run > 0 ? scores * full_blocks / blocks_run : 0;
  // chunked_lm_loss (main phases): logits, probabilities and their gradient for one chunk of rows.
  const double chunk_logits = std::min(tokens, double(objectives::default_chunk_rows(m.vocab_size))) * V * 4;
  e.logits = phase.loss == spec::Phase::kMain ? 3 * chunk_logits : 0;
  // Held-out loss: a forward without saved tensors keeps about one block's values per token at a
  // time (twice, for the block's input and output) and the loss chunk's logits (no gradient).
  e.validation = 2 * block_values_per_token(m) * tokens * act_bytes + chunk_logits;
  // An online teacher: its weights, and (logits asked for) one chunk of its logits at a time
  // (teacher::forward_signals de-embeds in default_chunk_rows row chunks).
  if (teacher && cfg.teacher.source == "online" && phase.needs.any()) {
    e.teacher = model_params(*teacher) * act_bytes;
    if (phase.needs.teacher_logits)
      e.teacher += 2 * std::min(tokens, double(objectives::default_chunk_rows(teacher->vocab_size))) *
                   double(teacher->vocab_size) * 4;
  }
  return e;
}

}  // namespace

MemoryEstimate estimate_training_memory(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher,
                                        bool fused_attention, int world) {
  std::optional<MemoryEstimate> most;
  for (const auto& phase : spec::of(cfg.objective.name).phases) {
    MemoryEstimate e = estimate_phase(cfg, teacher, fused_attention, world, phase);
    if (!most || e.total() > most->total()) most = e;
  }
  return *most;
}

std::vector<MemoryEstimate> memory_alternatives(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher,
                                                bool fused_attention, int world) {
  using AC = config::ActivationCheckpointing;
  std::vector<MemoryEstimate> out{estimate_training_memory(cfg, teacher, fused_attention, world)};
  std::vector<AC> modes{AC::kNone, AC::kBlocks};
  if (cfg.run.activation_checkpointing == AC::kEveryK) modes.push_back(AC::kEveryK);
  for (int64_t zero : {int64_t{0}, int64_t{1}}) {
    if (zero == 1 && world <= 1) continue;  // ZeRO-1 changes nothing for one process
    for (AC mode : modes) {
      if (zero == cfg.run.zero && mode == cfg.run.activation_checkpointing) continue;
      config::ExperimentConfig alt = cfg;
      alt.run.zero = zero;
      alt.run.activation_checkpointing = mode;
      out.push_back(estimate_training_memory(alt, teacher, fused_attention, world));
    }
  }
  return out;
}

std::string describe_settings(const MemoryEstimate& e) {
  std::string s =
      "run.zero=" + std::to_string(e.zero) + ", run.activation_checkpointing=" + config::to_string(e.checkpointing);
  if (e.checkpointing == config::ActivationCheckpointing::kEveryK)
    s += " (k=" + std::to_string(e.checkpointing_k) + ")";
  return s;
}

std::string describe_alternatives(const std::vector<MemoryEstimate>& alts, double limit_bytes) {
  std::ostringstream s;
  for (size_t i = 0; i < alts.size(); ++i) {
    const auto& e = alts[i];
    s << "  " << (i == 0 ? "configured: " : "with ") << describe_settings(e) << ": " << util::human_bytes(e.total())
      << " per rank";
    if (limit_bytes > 0) s << (e.total() <= limit_bytes ? " (fits)" : " (does not fit)");
    s << "\n";
  }
  return s.str();
}

nlohmann::json to_json(const MemoryEstimate& e) {
  return {{"phase", e.phase},
          {"weights", e.weights},
          {"optimizer", e.optimizer},
          {"gradients", e.gradients},
          {"moments", e.moments},
          {"activations", e.activations},
          {"logits", e.logits},
          {"teacher", e.teacher},
          {"validation", e.validation},
          {"total", e.total()},
          {"world_size", e.world},
          {"zero", e.zero},
          {"activation_checkpointing", config::to_string(e.checkpointing)},
          {"activation_checkpointing_k", e.checkpointing_k}};
}

double checkpoint_bytes(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher) {
  // model.safetensors (4 B/param) + optimizer.safetensors (two moments) + regressor (+ its moments)
  return 12 * model_params(cfg.model) + 12 * regressor_params(cfg, teacher) + 64 * 1024;
}

uint64_t host_memory_available() {
  double avail = 0;
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  double kb = 0;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") avail = kb * 1024;
  // cgroup v2, then v1: the container's limit minus what it already uses.
  for (auto [limit, usage] :
       {std::pair<const char*, const char*>{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
        {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    const auto l = read_number(limit), u = read_number(usage);
    if (l && u && *l < 1e18) avail = avail > 0 ? std::min(avail, std::max(0.0, *l - *u)) : std::max(0.0, *l - *u);
  }
  return static_cast<uint64_t>(avail);
}

void check_training_resources(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher,
                              bool fused_attention, uint64_t limit_bytes, const std::string& where, int processes,
                              int world) {
  if (!cfg.run.check_resources) return;
  const auto alts = memory_alternatives(cfg, teacher, fused_attention, world);
  const MemoryEstimate& e = alts.front();
  const double limit = double(limit_bytes) / std::max(1, processes);
  const int64_t micro = cfg.data.batch_size / std::max<int64_t>(1, cfg.data.grad_accum);
  const std::string table = describe_alternatives(alts, limit_bytes ? limit : 0);
  HLD_INPUT_CHECK(limit_bytes == 0 || e.total() <= limit,
                  "training '" + cfg.model.name + "' needs about " + util::human_bytes(e.total()) + " of memory on " +
                      where + " (" + e.describe() + ", micro-batch " + std::to_string(micro) + " x " +
                      std::to_string(cfg.data.context) + " tokens, " + describe_settings(e) + ") but " + where +
                      " has " + util::human_bytes(limit) + " available" +
                      (processes > 1 ? " per process (" + std::to_string(processes) + " processes)" : "") +
                      "; per rank:\n" + table +
                      "raise data.grad_accum or lower data.batch_size, shorten data.context, set run.zero=1 (several "
                      "ranks) or run.activation_checkpointing=blocks, choose a smaller model, or set "
                      "run.check_resources=false to try anyway");

  // Disk: keep_checkpoints complete checkpoints plus the one being written.
  const auto existing = static_cast<int64_t>(model::checkpoint_dirs(cfg.run.dir).size());
  const double per = checkpoint_bytes(cfg, teacher);
  const double need = per * double(std::max<int64_t>(1, cfg.run.keep_checkpoints + 1 - existing));
  const double free = double(util::free_disk_bytes(cfg.run.dir));
  HLD_INPUT_CHECK(need <= free, "run.dir '" + cfg.run.dir + "': checkpoints need " + util::human_bytes(need) + " (" +
                                    util::human_bytes(per) +
                                    " each, run.keep_checkpoints = " + std::to_string(cfg.run.keep_checkpoints) +
                                    ") but its disk has " + util::human_bytes(free) +
                                    " free; free space, choose another run.dir, keep "
                                    "fewer checkpoints or set run.check_resources=false to try anyway");
}

void check_run_resources(const config::ExperimentConfig& cfg, const config::ModelConfig* teacher,
                         const std::string& device, int world, bool log) {
  const bool cuda = device.rfind("cuda", 0) == 0;
  const int index = cuda && device.size() > 5 ? std::stoi(device.substr(5)) : 0;
  const uint64_t limit = cuda ? runtime::cuda_free_memory(index) : host_memory_available();
  const int processes = cuda ? 1 : dist::read_launch_env().local_world;
  if (log) {  // per-rank memory with and without ZeRO-1 / checkpointing; the config decides
    const auto alts = memory_alternatives(cfg, teacher, cuda, world);
    spdlog::info("memory per rank ({} rank(s)): {}\n{}", world, alts.front().describe(),
                 describe_alternatives(alts, limit ? double(limit) / std::max(1, processes) : 0));
  }
  check_training_resources(cfg, teacher, cuda, limit, device, processes, world);
}

}  // namespace hld::train
