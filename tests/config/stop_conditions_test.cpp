// run.exit_signals and run.time_limit: what they accept, and refusals that name the key.
#include "hld/config/stop_conditions.h"

#include <gtest/gtest.h>

#include <csignal>

#include "hld/config/loader.h"
#include "hld/util/error.h"

namespace hld::config {
namespace {

TEST(StopConditions, SignalListsByNameWithOrWithoutSig) {
  EXPECT_EQ(parse_exit_signals("SIGTERM,SIGINT,SIGUSR1", "k"), (std::vector<int>{SIGTERM, SIGINT, SIGUSR1}));
  EXPECT_EQ(parse_exit_signals(" usr1 , term,TERM", "k"), (std::vector<int>{SIGUSR1, SIGTERM}));
  EXPECT_TRUE(parse_exit_signals("none", "k").empty());
  EXPECT_TRUE(parse_exit_signals("", "k").empty());
  EXPECT_EQ(signal_name(SIGUSR1), "SIGUSR1");
  for (const char* bad : {"SIGKILL", "STOP", "TERM,", "SIGSEGV", "15"}) {
    try {
      parse_exit_signals(bad, "run.exit_signals");
      ADD_FAILURE() << bad << " accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("run.exit_signals = '"), std::string::npos) << e.what();
    }
  }
}

TEST(StopConditions, DurationsInDaysHoursMinutesSeconds) {
  EXPECT_DOUBLE_EQ(parse_duration_s("23h50m", "k"), 23 * 3600 + 50 * 60);
  EXPECT_DOUBLE_EQ(parse_duration_s("1d2h", "k"), 26 * 3600);
  EXPECT_DOUBLE_EQ(parse_duration_s("90m", "k"), 5400);
  EXPECT_DOUBLE_EQ(parse_duration_s("3600", "k"), 3600);
  EXPECT_DOUBLE_EQ(parse_duration_s("2.5s", "k"), 2.5);
  EXPECT_DOUBLE_EQ(parse_duration_s("1.5h", "k"), 5400);
  EXPECT_EQ(parse_duration_s("none", "k"), -1);
  for (const char* bad : {"soon", "10x", "5m3h", "1h1h", "0s", "-5m", "h", "1e400"}) {
    try {
      parse_duration_s(bad, "run.time_limit");
      ADD_FAILURE() << bad << " accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("run.time_limit = '"), std::string::npos) << e.what();
    }
  }
}

TEST(StopConditions, LoaderRefusesBothKeysNamingThem) {
  try {
    load_string("run: {exit_signals: KILL, time_limit: tomorrow}\n");
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("run.exit_signals = 'KILL'"), std::string::npos) << m;
    EXPECT_NE(m.find("run.time_limit = 'tomorrow'"), std::string::npos) << m;
  }
  const auto c = load_string("");
  EXPECT_EQ(c.run.exit_signals, "SIGTERM,SIGINT,SIGUSR1");
  EXPECT_EQ(c.run.time_limit, "none");
}

}  // namespace
}  // namespace hld::config
