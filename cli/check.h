// The journal checker (`polysweep check --dir DIR`): reads a sweep directory
// (its journal and its trials' checkpoints) and reports every promise of
// docs/reliability.md the sweep broke:
//   - every trial ends in one final state (once the sweep finished), the
//     sweep issued what its search and budget allow, in order, none twice;
//   - a (trial, step) progress report or evaluation is stored once; steps
//     move forward within an attempt, every step an attempt reports is past
//     the checkpoint it resumed from, and an attempt resumed after a pause,
//     a promotion or a preemption starts where that checkpoint was;
//   - a completed trial has its final step's progress and evaluation, and
//     nothing after them;
//   - every checkpoint verifies, its score is the journaled objective of its
//     step, and a completed trial's best checkpoint holds its best score;
//   - every scheduler decision refers to an evaluation in the journal (with
//     the score it was decided on); a paused trial's checkpoint exists;
//   - no process of an ended attempt is alive on this host.
// Read-only: it never changes the journal or the checkpoints, and may run
// while the sweep does (facts still arriving are not violations).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace polysweep {

struct CheckViolation {
  uint64_t trial = 0;    // 0: the sweep as a whole
  uint32_t attempt = 0;  // 0: the trial as a whole
  std::string what;
  std::vector<std::string> events;  // what the journal says around it, oldest first
};

struct CheckReport {
  std::string journal;
  std::string sweep, state;
  int trials = 0;
  int64_t facts = 0;       // journal rows and checkpoints read
  std::vector<CheckViolation> violations;
};

struct CheckOptions {
  // Also look for live processes of ended attempts (this host's /proc).
  bool processes = true;
};

// Checks the sweep in `dir` (holding journal.db and checkpoints/). An error
// only when the directory cannot be read as a sweep; broken promises are
// the report's violations.
StatusOr<CheckReport> CheckSweep(const std::string& dir, const CheckOptions& options = {});

// For people: a summary line, then each violation with its events.
std::string FormatCheckReport(const CheckReport& report);
// One JSON object: the summary and the violations.
std::string CheckReportJson(const CheckReport& report);

}  // namespace polysweep
