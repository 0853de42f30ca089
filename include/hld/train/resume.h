// Where a training run starts: from scratch, or from the latest checkpoint of its run folder when
// that checkpoint was trained with the same configuration (run_dir.h's identity). The resume
// policy in one place: a different configuration is refused naming the keys that changed; a
// folder written before complete configs (legacy fingerprint) resumes with a warning; every rank
// must see the same checkpoint and configuration.
#pragma once

#include <string>

#include "hld/config/experiment.h"
#include "hld/dist/collective.h"
#include "hld/train/checkpoint.h"

namespace hld::train {

struct ResumePoint {
  TrainState state;        ///< the checkpoint's loop state (fresh: step 0), with this config's identity
  std::string checkpoint;  ///< the checkpoint to load ("" for a fresh start)
};

/// The start of `cfg`'s run on `coll`'s ranks. `folder` false (bench): always a fresh start.
/// InputError naming run.dir when the checkpoint belongs to another configuration or the ranks
/// disagree.
ResumePoint resume_point(const config::ExperimentConfig& cfg, bool folder, dist::Collective& coll);

}  // namespace hld::train
