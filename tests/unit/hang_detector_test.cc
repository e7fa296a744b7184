// When the coordinator gives up on an attempt, decided at given times (no
// sleeping): a rank whose work stops, a rank still loading past the start
// timeout, ranks that never connect, a command not acted on.
#include "coordinator/hang_detector.h"

#include <gtest/gtest.h>

namespace polysweep {
namespace {

constexpr double kT0 = 1000;
const HangLimits kLimits{2.0, 10.0, 2};

Trial Launched() {
  Trial t;
  t.id = 3;
  t.launched_at = kT0;
  return t;
}

TEST(HangDetector, ARankWhoseWorkStopsIsNamedAfterTheHangTimeout) {
  Trial t = Launched();
  t.ranks[0] = RankLiveness{40, 12, kT0 + 1, "node-a", 111};
  t.ranks[1] = RankLiveness{41, 12, kT0 + 3, "node-b", 222};
  EXPECT_EQ(FindStall(t, kLimits, kT0 + 3.0), "");
  EXPECT_EQ(FindStall(t, kLimits, kT0 + 4.1),
            "hang: rank 0/2 on host node-a (pid 111) made no progress for 3.1 s at step 12");
}

TEST(HangDetector, ARankLoadingItsDataHasTheStartTimeout) {
  Trial t = Launched();
  t.ranks[0] = RankLiveness{0, 0, kT0, "node-a", 111};  // no step yet
  t.ranks[1] = RankLiveness{0, 0, kT0, "node-b", 222};
  EXPECT_EQ(FindStall(t, kLimits, kT0 + 9.9), "");
  EXPECT_NE(FindStall(t, kLimits, kT0 + 10.1).find("hang: rank 0/2 on host node-a"), std::string::npos);
}

TEST(HangDetector, RanksThatNeverConnectAndCommandsNotActedOnAreNamed) {
  Trial t = Launched();
  t.ranks[0] = RankLiveness{5, 1, kT0 + 9, "node-a", 111};
  EXPECT_EQ(FindStall(t, kLimits, kT0 + 9.5), "");
  EXPECT_EQ(FindStall(t, kLimits, kT0 + 10.5), "1 rank(s) never connected within 10 s");
  t.ranks[0].last_change = kT0 + 11;  // both work on
  t.ranks[1] = RankLiveness{5, 1, kT0 + 11, "node-b", 222};
  t.command = PendingCommand{wire::COMMAND_PAUSE, TrialState::kStopped, false, "paused by the owner", kT0 + 10};
  EXPECT_EQ(FindStall(t, kLimits, kT0 + 11.5), "");
  EXPECT_EQ(FindStall(t, kLimits, kT0 + 12.5), "the trial did not act on its pause command within 2 s");
}

}  // namespace
}  // namespace polysweep
