// A killed `prepare` resumes: real SIGKILLs of a forked child at random moments (and at chosen
// points: right after a progress record, before each index.json), then the output must be
// bitwise identical to an uninterrupted run's: every file of both splits, no leftovers. Hostile
// progress records (truncated, garbage, other settings, hand-edited, shards changed since) make
// the run start over cleanly with the same output.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "data_test_util.h"
#include "hld/data/prepare.h"
#include "hld/data/shards.h"
#include "hld/util/fs.h"

namespace hld::data {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// Every regular file under `dir` (relative path → bytes).
std::map<std::string, std::string> read_tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = util::read_file(e.path().string());
  return out;
}

/// Asserts that `dir` holds exactly the files of `ref`, byte for byte.
void expect_same_tree(const std::map<std::string, std::string>& ref, const std::string& dir) {
  const auto got = read_tree(dir);
  std::vector<std::string> ref_names, got_names;
  for (const auto& [k, v] : ref) ref_names.push_back(k);
  for (const auto& [k, v] : got) got_names.push_back(k);
  ASSERT_EQ(got_names, ref_names) << "different files in " << dir;
  for (const auto& [name, bytes] : ref) EXPECT_TRUE(got.at(name) == bytes) << name << " differs in " << dir;
}

/// Appends one line to `path` with a single write (survives the writer being killed mid-run).
void append_line(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0) return;
  const std::string s = line + "\n";
  [[maybe_unused]] const ssize_t n = ::write(fd, s.data(), s.size());
  ::close(fd);
}

/// Runs prepare_shards(o) in a forked child whose events are appended to `events` as JSON lines;
/// `die_at(event, info)` returning true makes the child SIGKILL itself there.
pid_t fork_prepare(PrepareOptions o, const std::string& events,
                   std::function<bool(const std::string&, const nlohmann::json&)> die_at = {}) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  spdlog::set_level(spdlog::level::warn);
  o.on_event = [&](const std::string& ev, const nlohmann::json& info) {
    append_line(events, nlohmann::json{{"event", ev}, {"info", info}}.dump());
    if (die_at && die_at(ev, info)) ::raise(SIGKILL);
  };
  try {
    prepare_shards(o);
  } catch (...) {
    ::_exit(3);
  }
  ::_exit(0);
}

std::vector<nlohmann::json> read_events(const std::string& path, const std::string& name) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("event", "") == name) out.push_back(j["info"]);
  }
  return out;
}

/// Leaves `o.out_dir` as a child killed by `die_at` left it.
void interrupt(const PrepareOptions& o, const std::string& events,
               std::function<bool(const std::string&, const nlohmann::json&)> die_at) {
  const pid_t pid = fork_prepare(o, events, std::move(die_at));
  ASSERT_GT(pid, 0);
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "the child was to die by SIGKILL";
}

/// Dies at the `n`-th progress record.
auto at_checkpoint(int n) {
  return
      [n, seen = 0](const std::string& ev, const nlohmann::json&) mutable { return ev == "checkpoint" && ++seen == n; };
}

struct PrepareResume : public ::testing::Test {
  testing::TempDir tmp;
  std::string model;
  void SetUp() override { model = testing::train_small_tokenizer(tmp.path(), testing::corpus_docs(200)); }
  PrepareOptions options(const std::vector<std::string>& inputs, const std::string& out, int64_t shard_tokens) {
    PrepareOptions o;
    o.tokenizer = model;
    o.inputs = inputs;
    o.out_dir = out;
    o.valid_fraction = 0.1;
    o.split_seed = 5;
    o.shard_tokens = shard_tokens;
    o.threads = 2;
    o.progress_seconds = 0;
    return o;
  }
};

TEST_F(PrepareResume, SurvivesRepeatedKill9AndMatchesAnUninterruptedRun) {
  // The whole embedded corpus (9832 C4 documents, 9.7 MB) in ~30 train and ~3 valid shards.
  auto o = options({testing::embedded("train.jsonl.gz")}, tmp / "ref", 100000);
  o.checkpoint_seconds = 0.25;
  const auto t0 = Clock::now();
  const auto ref_res = prepare_shards(o);
  const double T = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto ref = read_tree(tmp / "ref");
  ASSERT_GE(ref_res.train_index["shards"].size(), 10u);
  std::printf("uninterrupted run: %.2f s, %zu train + %zu valid shards\n", T, ref_res.train_index["shards"].size(),
              ref_res.valid_index["shards"].size());

  // Kill one job again and again after random delays in [0.05 T, 0.3 T] of a fresh start each;
  // should a job finish before its 5th kill (a machine busier during the reference run), a new job
  // starts with delays half as long.
  std::mt19937 rng(20261128);
  const std::string events = tmp / "events.jsonl";
  int kills = 0;
  bool finished = false;
  std::string out;
  for (int attempt = 0; attempt < 4 && kills < 5; ++attempt) {
    out = tmp / ("job" + std::to_string(attempt));
    o.out_dir = out;
    fs::remove(events);
    kills = 0;
    finished = false;
    const double scale = std::ldexp(1.0, -attempt);
    std::uniform_real_distribution<double> delay(0.05 * T * scale, 0.3 * T * scale);
    while (!finished && kills < 8) {
      const pid_t pid = fork_prepare(o, events);
      ASSERT_GT(pid, 0);
      std::this_thread::sleep_for(std::chrono::duration<double>(delay(rng)));
      ::kill(pid, SIGKILL);
      int st = 0;
      ASSERT_EQ(::waitpid(pid, &st, 0), pid);
      if (WIFEXITED(st)) {
        ASSERT_EQ(WEXITSTATUS(st), 0) << "the child failed";
        finished = true;
      } else {
        ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        ++kills;
      }
    }
  }
  ASSERT_GE(kills, 5) << "the job must be killed at least 5 times";
  // Then let it finish (a kill may also have come after the last index was written: up to date).
  o.on_event = nullptr;
  const auto res = prepare_shards(o);
  expect_same_tree(ref, out);

  // Each start resumed where the progress record was, which only moves forward, and work was kept.
  auto resumes = read_events(events, "resume");
  if (res.resumed_at > 0) resumes.push_back({{"consumed", res.resumed_at}, {"kept_shards", res.kept_shards}});
  int64_t last = 0, kept = 0;
  for (const auto& r : resumes) {
    EXPECT_GE(r["consumed"].get<int64_t>(), last);
    last = r["consumed"].get<int64_t>();
    kept = std::max(kept, r["kept_shards"].get<int64_t>());
  }
  std::printf("%d kills, %zu resumes, last at document %lld, at most %lld shards kept\n", kills, resumes.size(),
              static_cast<long long>(last), static_cast<long long>(kept));
  EXPECT_GE(resumes.size(), 2u);
  EXPECT_GT(kept, 0) << "no resume kept a shard: the job restarted from scratch every time";
}

struct PrepareResumeSmall : public PrepareResume {
  std::string input;
  PrepareOptions o;
  std::map<std::string, std::string> ref;
  PrepareResult ref_res;
  void SetUp() override {
    PrepareResume::SetUp();
    const auto docs = testing::corpus_docs(500);
    input = tmp / "c4.jsonl.gz";
    testing::write_c4(input, std::vector<std::string>(docs.begin() + 200, docs.end()));
    o = options({input}, tmp / "ref", 10000);
    o.checkpoint_seconds = 0;
    ref_res = prepare_shards(o);
    ref = read_tree(tmp / "ref");
    ASSERT_GE(ref_res.train_index["shards"].size(), 6u);
  }
};

TEST_F(PrepareResumeSmall, HostileProgressRecordsStartOverWithTheSameOutput) {
  // A genuine interrupted state: killed right after its 4th progress record (a train shard closed,
  // so the open shard is valid's, or valid's closed and it is train's).
  o.out_dir = tmp / "snapshot";
  interrupt(o, tmp / "events.jsonl", at_checkpoint(4));
  const std::string progress = "prepare.progress.json";
  const auto good = nlohmann::json::parse(util::read_file(tmp / ("snapshot/" + progress)));
  ASSERT_GT(good["consumed"].get<int64_t>(), 0);
  ASSERT_GE(good["train"]["shards"].size(), 3u);
  const std::string split = good["train"]["open"].is_null() ? "valid" : "train";
  ASSERT_FALSE(good[split]["open"].is_null());
  const std::string partial = split + "/" + shard_file_name(good[split]["shards"].size(), "bin") + ".partial";
  ASSERT_TRUE(fs::exists(tmp / ("snapshot/" + partial)));

  int n = 0;
  // `edit(dir)` damages a copy of the snapshot; the next run must resume or not and match `ref`.
  auto check = [&](const std::string& what, bool resumes, const std::function<void(const std::string&)>& edit) {
    SCOPED_TRACE(what);
    const std::string dir = tmp / ("case" + std::to_string(n++));
    fs::copy(tmp / "snapshot", dir, fs::copy_options::recursive);
    edit(dir);
    o.out_dir = dir;
    const auto res = prepare_shards(o);
    EXPECT_FALSE(res.up_to_date);
    if (resumes) {
      EXPECT_EQ(res.resumed_at, good["consumed"].get<int64_t>());
      EXPECT_EQ(res.kept_shards, static_cast<int64_t>(good["train"]["shards"].size() + good["valid"]["shards"].size()));
    } else {
      EXPECT_EQ(res.resumed_at, 0);
    }
    expect_same_tree(ref, dir);
    fs::remove_all(dir);
  };
  auto set_record = [&](const std::string& dir, const std::string& bytes) {
    testing::write_text(dir + "/" + progress, bytes);
  };
  auto edited = [&](const std::function<void(nlohmann::json&)>& f) {
    return [&, f](const std::string& dir) {
      auto j = good;
      f(j);
      set_record(dir, j.dump());
    };
  };
  const std::string text = good.dump();

  // What a process killed between two records leaves: data past the recorded length in the partial
  // file, temporary files of atomic writes. Resumed, and all of it is gone at the end.
  check("partial file longer than recorded, stray temporary files", true, [&](const std::string& dir) {
    std::ofstream(dir + "/" + partial, std::ios::app | std::ios::binary) << std::string(999, '\x07');
    testing::write_text(dir + "/" + progress + ".tmp.999999", "{\"form");
    testing::write_text(dir + "/train/index.json.tmp.999999", "{");
    testing::write_text(dir + "/valid/shard_00007.json.tmp.999999", "{");
  });
  // Killed after the open shard closed (renamed to its final name, header written), before the
  // next record: the shard is reopened and cut back to the recorded length.
  check("open shard closed after the record", true, [&](const std::string& dir) {
    const int64_t index = static_cast<int64_t>(good[split]["shards"].size());
    std::ofstream(dir + "/" + partial, std::ios::app | std::ios::binary) << std::string(64, '\x01');
    fs::rename(dir + "/" + partial, dir + "/" + split + "/" + shard_file_name(index, "bin"));
    testing::write_text(dir + "/" + split + "/" + shard_file_name(index, "json"), "{}\n");
  });
  check("truncated record", false, [&](const std::string& dir) { set_record(dir, text.substr(0, text.size() / 2)); });
  check("garbage record", false, [&](const std::string& dir) { set_record(dir, std::string("\x00\xff{[\"", 5)); });
  check("record is a list", false, [&](const std::string& dir) { set_record(dir, "[1, 2, 3]"); });
  check("other settings", false,
        edited([](nlohmann::json& j) { j["fingerprint"]["settings"]["shard_tokens"] = 31000; }));
  check("one document more consumed", false,
        edited([](nlohmann::json& j) { j["consumed"] = j["consumed"].get<int64_t>() + 1; }));
  check("one document less consumed", false,
        edited([](nlohmann::json& j) { j["consumed"] = j["consumed"].get<int64_t>() - 1; }));
  check("negative consumed", false, edited([](nlohmann::json& j) { j["consumed"] = -5; }));
  check("open shard checksum", false,
        edited([&](nlohmann::json& j) { j[split]["open"]["checksum"] = "0123456789abcdef"; }));
  check("open shard with one document more", false, edited([&](nlohmann::json& j) {
          j[split]["open"]["documents"] = j[split]["open"]["documents"].get<int64_t>() + 1;
        }));
  check("open shard source outside the inputs", false,
        edited([&](nlohmann::json& j) { j[split]["open"]["sources"] = {"/etc/passwd"}; }));
  check("finished shard with huge counts", false, edited([](nlohmann::json& j) {
          j["train"]["shards"][0]["tokens"] = 1e30;
          j["train"]["shards"][0]["bytes"] = -1;
        }));
  check("finished shard named elsewhere", false,
        edited([](nlohmann::json& j) { j["train"]["shards"][0]["file"] = "../../evil.bin"; }));
  check("shards of the wrong type", false, edited([](nlohmann::json& j) { j["valid"]["shards"] = "all"; }));
  check("a shard dropped from the record", false, edited([](nlohmann::json& j) { j["train"]["shards"].erase(0); }));
  check("truncated partial file", false,
        [&](const std::string& dir) { fs::resize_file(dir + "/" + partial, fs::file_size(dir + "/" + partial) - 2); });
  check("missing partial file", false, [&](const std::string& dir) { fs::remove(dir + "/" + partial); });
  check("finished shard changed on disk", false, [&](const std::string& dir) {
    std::fstream f(dir + "/train/shard_00000.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x05');
  });

  // A complete output with a stale record left next to it (killed just before removing it).
  const std::string done = tmp / "done";
  fs::copy(tmp / "ref", done, fs::copy_options::recursive);
  fs::copy_file(tmp / ("snapshot/" + progress), done + "/" + progress);
  o.out_dir = done;
  EXPECT_TRUE(prepare_shards(o).up_to_date);
  expect_same_tree(ref, done);
}

TEST_F(PrepareResumeSmall, KillsAtProgressRecordsAndIndexWritesResume) {
  const std::string events = tmp / "events.jsonl";
  int n = 0;
  auto run_case = [&](const std::string& what, auto die_at, int64_t expect_resumed_at) {
    SCOPED_TRACE(what);
    o.out_dir = tmp / ("case" + std::to_string(n++));
    interrupt(o, events, die_at);
    o.on_event = nullptr;
    const auto res = prepare_shards(o);
    EXPECT_GT(res.resumed_at, 0);
    if (expect_resumed_at >= 0) {
      EXPECT_EQ(res.resumed_at, expect_resumed_at);
    }
    expect_same_tree(ref, o.out_dir);
  };
  const int64_t all_docs = ref_res.train_reader.documents;
  run_case("first record", at_checkpoint(1), -1);
  run_case("third record", at_checkpoint(3), -1);
  // Closing the last shard and writing the index: everything was read, nothing is encoded again.
  run_case(
      "before the train index",
      [](const std::string& ev, const nlohmann::json& i) { return ev == "index" && i["split"] == "train"; }, all_docs);
  run_case(
      "before the valid index",
      [](const std::string& ev, const nlohmann::json& i) { return ev == "index" && i["split"] == "valid"; }, all_docs);
  // Killed while writing valid/index.json: its temporary file is left, train is complete.
  o.out_dir = tmp / "mid_index";
  interrupt(o, events, [&](const std::string& ev, const nlohmann::json& i) {
    if (ev == "index" && i["split"] == "valid")
      testing::write_text(o.out_dir + "/valid/index.json.tmp.4242", "{\"form");
    return ev == "index" && i["split"] == "valid";
  });
  ASSERT_TRUE(fs::exists(o.out_dir + "/train/index.json"));
  const auto res = prepare_shards(o);
  EXPECT_EQ(res.resumed_at, all_docs);
  expect_same_tree(ref, o.out_dir);
}

TEST_F(PrepareResumeSmall, ValidFilesSplitResumesAcrossBothReaders) {
  // Valid from its own file (with two train documents in it, dropped from train): the progress
  // record counts documents over both readers, valid first.
  const auto docs = testing::corpus_docs(800);
  std::vector<std::string> valid(docs.begin() + 500, docs.begin() + 560);
  valid.push_back(docs[210]);
  valid.push_back(docs[400]);
  testing::write_c4(tmp / "valid.jsonl", valid);
  const std::string train = tmp / "train.jsonl.gz";
  testing::write_c4(train, std::vector<std::string>(docs.begin() + 200, docs.begin() + 500));
  o.inputs = {train};
  o.valid_inputs = {tmp / "valid.jsonl"};
  o.shard_tokens = 8000;  // several valid shards too
  o.out_dir = tmp / "files_ref";
  const auto r = prepare_shards(o);
  ASSERT_EQ(r.dropped_in_valid, 2);
  ASSERT_GE(r.valid_index["shards"].size(), 3u);
  const auto files_ref = read_tree(o.out_dir);
  const int valid_closes = static_cast<int>(r.valid_index["shards"].size()) - 1;  // the last closes at finish
  for (int k : {valid_closes, valid_closes + 2}) {  // the last in the valid phase; in the train phase
    SCOPED_TRACE("killed at progress record " + std::to_string(k));
    o.out_dir = tmp / ("files" + std::to_string(k));
    interrupt(o, tmp / "events.jsonl", at_checkpoint(k));
    const auto res = prepare_shards(o);
    EXPECT_GT(res.resumed_at, 0);
    EXPECT_EQ(res.dropped_in_valid, 2);
    expect_same_tree(files_ref, o.out_dir);
  }
}

}  // namespace
}  // namespace hld::data
