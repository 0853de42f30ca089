// Checkpoints record the BOS layout of the shards they were trained on (data_layout.json, from
// the batch stream's position), so that `eval.add_bos: auto` scores them the way they were
// trained: a short real run on `BOS text EOS` shards and one on `text EOS` shards of the same text.
#include <gtest/gtest.h>

#include <filesystem>

#include "hld/config/loader.h"
#include "hld/data/prepare.h"
#include "hld/model/model_io.h"
#include "hld/train/checkpoint.h"
#include "hld/train/trainer.h"
#include "hld/util/fs.h"
#include "test_util.h"
#include "train_fixture.h"

namespace hld::train {
namespace {

TEST(DataLayout, CheckpointsCarryTheShardsBosLayout) {
  test::TempDir tmp;
  const std::string corpus = test::small_corpus();
  data::PrepareOptions p;
  p.tokenizer = corpus + "/tok.model";
  p.inputs = {corpus + "/docs.jsonl"};
  p.out_dir = tmp / "bos_shards";
  p.valid_fraction = 0.05;
  p.progress_seconds = 0;
  ASSERT_TRUE(p.bos);
  data::prepare_shards(p);
  for (const auto& [shards, want] : {std::pair{tmp / "bos_shards", true}, std::pair{corpus + "/shards", false}}) {
    SCOPED_TRACE(shards);
    const std::string run = tmp / (want ? "run_bos" : "run_plain");
    const auto cfg = config::load_string(
        test::tiny_experiment_yaml(),
        {"run.dir=" + run, "data.train=" + shards + "/train", "data.valid=" + shards + "/valid", "objective.name=nll",
         "budget.unit=steps", "budget.amount=3", "schedule.warmup_steps=1", "run.checkpoint_every=2"});
    TrainOptions o;
    o.quiet = true;
    const auto r = run_training(cfg, o);
    ASSERT_TRUE(r.finished);
    const auto ckpts = model::checkpoint_dirs(run, /*complete_only=*/true);
    ASSERT_FALSE(ckpts.empty());
    for (const auto& c : ckpts) {
      const auto layout = model::read_data_layout(c);
      EXPECT_EQ(layout.bos, want) << c;
      EXPECT_EQ(layout.source, "train") << c;
      EXPECT_EQ(read_checkpoint_state(c).data["bos"].get<bool>(), want) << c;  // data_layout.json is checksummed too
    }
  }
}

}  // namespace
}  // namespace hld::train
