// The `tokenizer` and `prepare` subcommands end to end through the hld-train binary (full builds
// only): train, encode/decode, prepare, re-run as a no-op, exit code 2 on bad input.
#ifdef HLD_TRAIN_BIN
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "data_test_util.h"
#include "hld/util/fs.h"

namespace hld::data {
namespace {

using testing::TempDir;

/// Runs hld-train with `args`; returns the exit code and puts stdout+stderr in `out`.
int run(const std::string& args, const std::string& log, std::string& out) {
  const std::string cmd = std::string(HLD_TRAIN_BIN) + " " + args + " > " + log + " 2>&1";
  const int st = std::system(cmd.c_str());
  out = util::read_file(log);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int64_t mtime_ns(const std::string& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

TEST(DataCli, TokenizerTrainPrepareRerunAndBadInput) {
  TempDir tmp;
  testing::write_c4(tmp / "in.jsonl.gz", testing::corpus_docs(200));
  const std::string log = tmp / "log.txt";
  std::string out;

  ASSERT_EQ(
      run("tokenizer train --input " + (tmp / "in.jsonl.gz") + " --vocab-size 600 --threads 1 --out " + (tmp / "tok"),
          log, out),
      0)
      << out;
  ASSERT_TRUE(std::filesystem::exists(tmp / "tok.model")) << out;

  ASSERT_EQ(run("tokenizer encode --model " + (tmp / "tok.model") + " 'The committee met in June.'", log, out), 0)
      << out;
  const std::string ids = out.substr(0, out.find('\n'));
  EXPECT_FALSE(ids.empty());
  ASSERT_EQ(run("tokenizer decode --model " + (tmp / "tok.model") + " " + ids, log, out), 0) << out;
  EXPECT_EQ(out, "The committee met in June.\n");

  const std::string prep = "prepare --tokenizer " + (tmp / "tok.model") + " --input " + (tmp / "in.jsonl.gz") +
                           " --valid-fraction 0.1 --out " + (tmp / "shards");
  ASSERT_EQ(run(prep, log, out), 0) << out;
  ASSERT_TRUE(std::filesystem::exists(tmp / "shards/train/index.json")) << out;
  ASSERT_TRUE(std::filesystem::exists(tmp / "shards/valid/index.json")) << out;
  const int64_t before = mtime_ns(tmp / "shards/train/shard_00000.bin");
  ASSERT_EQ(run(prep, log, out), 0) << out;
  EXPECT_NE(out.find("up to date"), std::string::npos) << out;
  EXPECT_EQ(mtime_ns(tmp / "shards/train/shard_00000.bin"), before);

  // Bad input: exit 2 naming the file, nothing written.
  EXPECT_EQ(run("prepare --tokenizer " + (tmp / "tok.model") + " --input " + (tmp / "missing.json.gz") + " --out " +
                    (tmp / "other"),
                log, out),
            2)
      << out;
  EXPECT_NE(out.find(tmp / "missing.json.gz"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(tmp / "other"));
  EXPECT_EQ(run("tokenizer train --input " + (tmp / "missing.txt") + " --out " + (tmp / "t2"), log, out), 2) << out;
  EXPECT_EQ(run(prep + " --valid-input " + (tmp / "in.jsonl.gz"), log, out), 2) << out;
  EXPECT_EQ(run("tokenizer decode --model " + (tmp / "tok.model") + " 600", log, out), 2) << out;
}

}  // namespace
}  // namespace hld::data
#endif  // HLD_TRAIN_BIN
