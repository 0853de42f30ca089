// Training curves in TensorBoard: scripts/tensorboard_export.py writes a real run's metrics.jsonl
// with TensorBoard's own event writer, and TensorBoard's own reader (EventAccumulator,
// tests/train/tensorboard_read.py) must give back every numeric field of every record at its
// step (float32, as TensorBoard stores scalars), each exactly once, whether the run is exported
// at once, in pieces as it grows (a partly written last line waits for the next read), or by the
// --follow mode while the file is appended to. Bad input exits 2 naming the file and line.
#ifdef HLD_TRAIN_BIN
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "hld/util/fs.h"
#include "referee/referee_util.h"
#include "test_util.h"
#include "train/train_fixture.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace hld::train {
namespace {

std::string exporter() { return test::venv_python() + " " + test::repo_path("scripts/tensorboard_export.py"); }

/// tag -> step -> values (a record may repeat a field of another record at the same step: the
/// train and the valid record of a step both carry flops/spent), as a multiset in file order.
using Scalars = std::map<std::string, std::map<int64_t, std::vector<double>>>;

/// What TensorBoard's reader gives back for `logdir`.
Scalars read_back(const std::string& logdir) {
  auto r = test::run_command(test::venv_python() + " " + test::repo_path("tests/train/tensorboard_read.py") + " " +
                             logdir + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  Scalars out;
  const json j = json::parse(r.output, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.output;
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it)
    for (const auto& e : it.value()) out[it.key()][e[0].get<int64_t>()].push_back(e[1].get<double>());
  return out;
}

/// Every numeric field of the first `n` records of `lines` at its step, as float32 (TensorBoard's
/// scalar type): what the export must hold, each exactly once.
Scalars expected(const std::vector<std::string>& lines, size_t n) {
  Scalars out;
  for (size_t i = 0; i < n; ++i) {
    const json rec = json::parse(lines[i]);
    const int64_t step = rec["step"].get<int64_t>();
    for (auto it = rec.begin(); it != rec.end(); ++it)
      if (it.key() != "step" && it.value().is_number())
        out[it.key()][step].push_back(static_cast<double>(static_cast<float>(it.value().get<double>())));
  }
  return out;
}

void expect_records(const std::vector<std::string>& lines, size_t n, const Scalars& tb) {
  const Scalars want = expected(lines, n);
  size_t values = 0;
  for (const auto& [tag, steps] : want)
    for (const auto& [step, v] : steps) values += v.size();
  EXPECT_GT(values, n);
  EXPECT_EQ(tb, want) << "the first " << n << " records of metrics.jsonl, read back";
}

TEST(TensorBoardExport, MetricsReadBackWithTensorBoardsOwnReader) {
  HLD_REQUIRE_VENV_PYTHON();
  ASSERT_EQ(test::run_command(test::venv_python() + " -c 'import tensorboard'").exit_code, 0)
      << test::venv_python() << " has no tensorboard: run scripts/setup.sh (requirements.txt pins it)";
  test::TempDir dir;
  const std::string cfg = dir / "nll.yaml", run = dir / "run";
  std::ofstream(cfg) << test::tiny_experiment_yaml();
  auto r = test::run_hld("train " + cfg + " --quiet --set run.dir=" + run +
                         " --set objective.name=nll --set budget.unit=steps --set budget.amount=12"
                         " --set run.log_every=2 --set run.eval_every=4 --set run.eval_batches=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> lines;
  {
    std::istringstream in(util::read_file(run + "/metrics.jsonl"));
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) lines.push_back(l);
  }
  ASSERT_GE(lines.size(), 8u);
  ASSERT_TRUE(std::any_of(lines.begin(), lines.end(),  // train and valid records both
                          [](const std::string& l) { return l.find("valid/loss") != std::string::npos; }));

  // At once.
  r = test::run_command(exporter() + " " + run + " --logdir " + (dir / "all"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto tb = read_back(dir / "all/run");
  expect_records(lines, lines.size(), tb);
  EXPECT_TRUE(tb.count("train/loss") && tb.count("valid/loss") && tb.count("optim/lr") && tb.count("flops/spent"));

  // In pieces, as the run writes it: half the records and a partly written line, then the rest.
  const std::string grow = dir / "grow";
  fs::create_directories(grow);
  const size_t half = lines.size() / 2;
  std::string text;
  for (size_t i = 0; i < half; ++i) text += lines[i] + "\n";
  util::write_file_atomic(grow + "/metrics.jsonl", text + lines[half].substr(0, 20));
  r = test::run_command(exporter() + " " + grow + " --logdir " + (dir / "tb"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_records(lines, half, read_back(dir / "tb/grow"));
  for (size_t i = half; i < lines.size(); ++i) text += lines[i] + "\n";
  util::write_file_atomic(grow + "/metrics.jsonl", text);
  r = test::run_command(exporter() + " " + grow + " --logdir " + (dir / "tb"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_records(lines, lines.size(), read_back(dir / "tb/grow"));

  // --follow while the file grows: started on one record, the rest appended a second later.
  const std::string live = dir / "live";
  fs::create_directories(live);
  util::write_file_atomic(live + "/metrics.jsonl", lines[0] + "\n");
  std::string rest;
  for (size_t i = 1; i < lines.size(); ++i) rest += lines[i] + "\n";
  util::write_file_atomic(dir / "rest.jsonl", rest);
  r = test::run_command("(timeout -s INT 6 " + exporter() + " " + live + " --logdir " + (dir / "follow") +
                        " --follow --interval 0.2 &) ; sleep 3; cat " + (dir / "rest.jsonl") + " >> " + live +
                        "/metrics.jsonl; sleep 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_records(lines, lines.size(), read_back(dir / "follow/live"));

  // Bad input: no metrics.jsonl; a line that is not a record.
  r = test::run_command(exporter() + " " + (dir / "nothing") + " --logdir " + (dir / "x"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nothing/metrics.jsonl' does not exist"), std::string::npos) << r.output;
  const std::string bad = dir / "bad";
  fs::create_directories(bad);
  util::write_file_atomic(bad + "/metrics.jsonl", lines[0] + "\n[1, 2]\n");
  r = test::run_command(exporter() + " " + bad + " --logdir " + (dir / "y"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("metrics.jsonl' line 2: expected a JSON object with an integer 'step'"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace hld::train
#endif  // HLD_TRAIN_BIN
