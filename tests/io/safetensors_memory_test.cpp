// Writing and loading model-sized safetensors files in bounded extra memory: save_safetensors
// streams tensor by tensor, and model::load_named_parameters copies tensor by tensor out of the
// file's mapping. Before, both held a whole-file copy (a 13 GB teacher needed 26 GB to load).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "hld/io/safetensors.h"
#include "hld/model/model_io.h"
#include "hld/runtime/runtime.h"
#include "hld/util/error.h"

namespace {

constexpr int kTensors = 8;
constexpr int64_t kRows = 4096, kCols = 4096;  // 64 MiB of float32 each, 512 MiB in all

struct Blocks : torch::nn::Module {
  Blocks() {
    for (int i = 0; i < kTensors; ++i)
      register_parameter("block" + std::to_string(i) + "_weight", torch::zeros({kRows, kCols}));
  }
};

TEST(SafetensorsMemory, ModelSizedFileIsWrittenAndLoadedOneTensorAtATime) {
  const auto path = std::filesystem::temp_directory_path() / ("hld-st-mem-" + std::to_string(::getpid()));
  std::filesystem::create_directories(path);
  const std::string file = (path / "model.safetensors").string();
  const torch::Device cpu(torch::kCPU);
  {
    hld::io::TensorMap tensors;
    for (int i = 0; i < kTensors; ++i)
      tensors.emplace("block" + std::to_string(i) + "_weight", torch::full({kRows, kCols}, float(i) + 0.5f));
    hld::runtime::reset_peak_memory(cpu);
    const int64_t before = hld::runtime::peak_memory(cpu);
    if (before <= 0) GTEST_SKIP() << "no peak resident set measurement here";
    hld::io::save_safetensors(file, tensors);
    const int64_t extra = hld::runtime::peak_memory(cpu) - before;
    std::printf("[safetensors] wrote 512 MiB: peak RSS +%.1f MiB\n", double(extra) / (1 << 20));
    EXPECT_LT(extra, 160 << 20) << "writing raised the peak resident set by " << extra << " bytes";
  }
  EXPECT_EQ(std::filesystem::file_size(file) > size_t{kTensors} * kRows * kCols * 4, true);

  Blocks m;
  hld::runtime::reset_peak_memory(cpu);
  const int64_t before = hld::runtime::peak_memory(cpu);
  hld::model::load_named_parameters(m, file);
  const int64_t extra = hld::runtime::peak_memory(cpu) - before;
  std::printf("[safetensors] loaded 512 MiB: peak RSS +%.1f MiB\n", double(extra) / (1 << 20));
  EXPECT_LT(extra, 160 << 20) << "loading raised the peak resident set by " << extra << " bytes";
  for (int i = 0; i < kTensors; ++i) {
    const auto& p = m.named_parameters()["block" + std::to_string(i) + "_weight"];
    EXPECT_EQ(p.min().item<float>(), float(i) + 0.5f);
    EXPECT_EQ(p.max().item<float>(), float(i) + 0.5f);
  }

  // A parameter the file lacks is an InputError naming the file and the tensor.
  struct More : Blocks {
    More() { register_parameter("extra_weight", torch::zeros({2})); }
  } more;
  try {
    hld::model::load_named_parameters(more, file);
    ADD_FAILURE() << "loading a file without extra_weight succeeded";
  } catch (const hld::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("extra_weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(path);
}

}  // namespace
