// The trial state machine: the journal's names round-trip, final states are
// final, and the transitions the coordinator makes are the table's.
#include "common/trial_state.h"

#include <gtest/gtest.h>

namespace polysweep {
namespace {

constexpr TrialState kAll[] = {TrialState::kPending,     TrialState::kRunning,   TrialState::kPaused,
                               TrialState::kPreempted,   TrialState::kInterrupted, TrialState::kCompleted,
                               TrialState::kFailed,      TrialState::kStopped,   TrialState::kPruned};

TEST(TrialState, NamesRoundTripAndUnknownNamesAreRefused) {
  for (TrialState s : kAll) EXPECT_EQ(ParseTrialState(TrialStateName(s)), s) << TrialStateName(s);
  EXPECT_EQ(ParseTrialState("launching"), std::nullopt);
  EXPECT_EQ(ParseTrialState(""), std::nullopt);
}

TEST(TrialState, AFinalStateGoesNowhere) {
  for (TrialState from : kAll) {
    for (TrialState to : kAll) {
      if (IsFinal(from)) EXPECT_FALSE(CanTransition(from, to)) << TrialStateName(from) << " -> " << TrialStateName(to);
    }
    EXPECT_FALSE(CanTransition(from, TrialState::kPending)) << TrialStateName(from) << " -> pending";
  }
  EXPECT_EQ(IsFinal(TrialState::kCompleted) + IsFinal(TrialState::kFailed) + IsFinal(TrialState::kStopped) +
                IsFinal(TrialState::kPruned),
            4);
  EXPECT_FALSE(IsFinal(TrialState::kPaused));
}

TEST(TrialState, TheCoordinatorsTransitionsAreAllowed) {
  using S = TrialState;
  const std::pair<S, S> allowed[] = {
      {S::kPending, S::kRunning},     {S::kPending, S::kFailed},       {S::kRunning, S::kRunning},
      {S::kRunning, S::kPaused},      {S::kRunning, S::kPreempted},    {S::kRunning, S::kInterrupted},
      {S::kRunning, S::kCompleted},   {S::kRunning, S::kPruned},       {S::kPaused, S::kRunning},
      {S::kPaused, S::kStopped},      {S::kPaused, S::kPruned},        {S::kPreempted, S::kRunning},
      {S::kInterrupted, S::kRunning}, {S::kInterrupted, S::kFailed},
  };
  for (const auto& [from, to] : allowed) EXPECT_TRUE(CanTransition(from, to)) << TrialStateName(from) << " -> " << TrialStateName(to);
  EXPECT_FALSE(CanTransition(S::kPending, S::kCompleted));
  EXPECT_FALSE(CanTransition(S::kPaused, S::kCompleted));
  EXPECT_FALSE(CanTransition(S::kPreempted, S::kPaused));
}

}  // namespace
}  // namespace polysweep
