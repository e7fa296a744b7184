#include "common/trial_state.h"

#include "common/names.h"

namespace polysweep {
namespace {

constexpr std::array<std::pair<TrialState, const char*>, 9> kNames = {{
    {TrialState::kPending, "pending"},
    {TrialState::kRunning, "running"},
    {TrialState::kPaused, "paused"},
    {TrialState::kPreempted, "preempted"},
    {TrialState::kInterrupted, "interrupted"},
    {TrialState::kCompleted, "completed"},
    {TrialState::kFailed, "failed"},
    {TrialState::kStopped, "stopped"},
    {TrialState::kPruned, "pruned"},
}};

}  // namespace

const char* TrialStateName(TrialState state) { return NameOf(kNames, state); }

std::optional<TrialState> ParseTrialState(const std::string& name) { return ValueOf(kNames, name); }

bool IsFinal(TrialState state) {
  return state == TrialState::kCompleted || state == TrialState::kFailed || state == TrialState::kStopped ||
         state == TrialState::kPruned;
}

bool CanTransition(TrialState from, TrialState to) {
  using S = TrialState;
  switch (from) {
    case S::kPending:  // launched, or ended before it could be (bad config, launch error)
      return to == S::kRunning || to == S::kFailed;
    case S::kRunning:
      return to != S::kPending;
    case S::kPaused:  // promoted or resumed; stopped by the owner; pruned when the sweep ends
      return to == S::kRunning || to == S::kStopped || to == S::kPruned || to == S::kFailed;
    case S::kPreempted:
    case S::kInterrupted:  // a new attempt, or ended while it could not start
      return to == S::kRunning || to == S::kFailed || to == S::kInterrupted;
    default:
      return false;  // final
  }
}

}  // namespace polysweep
