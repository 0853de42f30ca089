// The resume policy (see resume.h).
#include "hld/train/resume.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "hld/config/loader.h"
#include "hld/model/model_io.h"
#include "hld/train/run_dir.h"
#include "hld/util/error.h"
#include "hld/util/fs.h"

namespace fs = std::filesystem;

namespace hld::train {
namespace {

/// The complete config a refused resume is compared with: the checkpoint's own identity, or for
/// checkpoints written before it was kept, RUN/config.yaml (which the user may have edited).
std::map<std::string, std::string> stored_identity(const TrainState& st, const std::string& run_dir, int world) {
  std::map<std::string, std::string> out;
  if (st.identity.is_object()) {
    for (auto it = st.identity.begin(); it != st.identity.end(); ++it)
      out[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    return out;
  }
  try {
    const std::string stored_path = (fs::path(run_dir) / "config.yaml").string();
    out = config_identity(config::load_string(util::read_file(stored_path), {}, run_dir), world);
  } catch (const std::exception&) {
    // an unreadable stored config: the refusal still stands, without the list
  }
  return out;
}

}  // namespace

ResumePoint resume_point(const config::ExperimentConfig& cfg, bool folder, dist::Collective& coll) {
  const int world = coll.world();
  const bool rank0 = coll.rank() == 0;
  const std::string& run_dir = cfg.run.dir;
  const std::string fingerprint = config_fingerprint(cfg, world);
  TrainState st;
  st.fingerprint = fingerprint;
  const std::string ckpt = folder ? model::latest_checkpoint(run_dir) : "";
  if (!ckpt.empty()) {
    st = read_checkpoint_state(ckpt);
    if (st.fingerprint != fingerprint) {
      const bool legacy =
          st.fingerprint.rfind("v2:", 0) != 0 && st.fingerprint == legacy_config_fingerprint(cfg, world);
      if (!legacy) {
        // Name the keys that changed, against the config the checkpoint was trained with.
        const auto stored = stored_identity(st, run_dir, world);
        const std::string changes = stored.empty() ? "" : describe_changes(stored, config_identity(cfg, world));
        throw InputError("run.dir '" + run_dir + "' holds a checkpoint of a different configuration (" + ckpt + ")" +
                         (changes.empty() ? std::string() : ": " + changes) +
                         "; use a new run.dir or the original config");
      }
      if (rank0)
        spdlog::warn(
            "{}: run folder written by an older hld-train (config without defaults); resuming with "
            "today's defaults for the keys it left out",
            run_dir);
      st.fingerprint = fingerprint;
    }
  }
  st.identity = nlohmann::json(config_identity(cfg, world));  // kept with every checkpoint
  HLD_INPUT_CHECK(
      coll.all_equal(ckpt.empty() ? -1 : st.step) && coll.all_equal(static_cast<int64_t>(util::fnv1a64(fingerprint))),
      "run.dir '" + run_dir +
          "': the ranks see different checkpoints or configurations (run.dir must "
          "be on a file system that every node shares, and every rank needs the same config)");
  return {st, ckpt};
}

}  // namespace hld::train
