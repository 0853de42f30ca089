// run.dtype = bfloat16 on the CPU: autocast around the forward passes (bf16 products, float32
// master weights, losses and optimizer), as on CUDA. Training follows float32's within 2 % in
// held-out loss, NLL and KD, and really computes in bf16 (the losses differ from float32's).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "hld/train/trainer.h"
#include "test_util.h"
#include "train_fixture.h"

namespace hld::train {
namespace {

TEST(TrainIntegration, Bf16OnTheCpuFollowsFloat32) {
  for (const char* obj : {"nll", "kd"}) {
    test::TempDir dir;
    TrainOptions quiet;
    quiet.quiet = true;
    auto run = [&](const std::string& dtype) {
      return run_training(test::tiny_config({std::string("objective.name=") + obj, "budget.amount=60000",
                                             "run.dtype=" + dtype, "run.dir=" + dir / dtype}),
                          quiet);
    };
    const auto f32 = run("float32"), bf16 = run("bfloat16");
    ASSERT_TRUE(f32.finished && bf16.finished) << obj;
    ASSERT_GT(f32.valid_loss, 0) << obj;
    EXPECT_EQ(f32.state.step, bf16.state.step) << obj;
    std::printf("%s held-out loss: float32 %.5f, bf16 %.5f\n", obj, f32.valid_loss, bf16.valid_loss);
    EXPECT_NE(f32.valid_loss, bf16.valid_loss) << obj << ": bf16 autocast did not take effect";
    EXPECT_LT(std::abs(bf16.valid_loss - f32.valid_loss) / f32.valid_loss, 0.02) << obj;
  }
}

}  // namespace
}  // namespace hld::train
