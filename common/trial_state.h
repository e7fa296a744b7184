// A trial's state and the transitions allowed between states, in one table.
// The journal maps the state to and from its rows (by TrialStateName); the
// CLI prints it; everything else compares the enum.
//
//   pending ──► running ──► completed | failed | stopped | pruned (final)
//                 │  ▲  ▲
//                 ▼  │  └── paused (a rung, or the owner) ──► stopped | pruned
//           preempted │
//           interrupted (Ctrl-C, a drain) ──► running
#pragma once

#include <optional>
#include <string>

namespace polysweep {

enum class TrialState {
  kPending,      // issued, not yet launched
  kRunning,      // an attempt's processes run (or wait for an agent)
  kPaused,       // at a rung or by the owner, its checkpoint committed
  kPreempted,    // checkpointed on a preemption signal, to be requeued
  kInterrupted,  // stopped with the coordinator; continues with the sweep
  kCompleted,
  kFailed,
  kStopped,      // by the owner
  kPruned,       // by its scheduler
};

// "pending", "running", ...: the journal's and the CLI's spelling.
const char* TrialStateName(TrialState state);
std::optional<TrialState> ParseTrialState(const std::string& name);

// A trial in a final state never runs again.
bool IsFinal(TrialState state);

// Whether a trial may move from `from` to `to` (running to running: a new
// attempt of a running trial, a restart or a re-adoption).
bool CanTransition(TrialState from, TrialState to);

}  // namespace polysweep
