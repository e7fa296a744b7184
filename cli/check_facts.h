// What the journal checker reads: a sweep's journal loaded into the
// journal's own record structs, one TrialFacts per trial, each list in the
// order it was written.
// Internal to the checker (cli/check.cc).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/journal.h"

struct sqlite3;

namespace polysweep::check {

struct TrialFacts {
  uint64_t id = 0;
  TrialState state = TrialState::kPending;
  std::string hparams;
  uint32_t attempt = 0;
  std::vector<JournalTransition> transitions;
  std::vector<JournalProgressPoint> progress;      // in the order they were stored
  std::vector<JournalEvaluationPoint> evaluations;  // in the order they were stored
  std::vector<JournalDecision> decisions;
};

struct SweepFacts {
  std::string name, config;
  SweepState state = SweepState::kRunning;
  double created_at = 0;
  int64_t rows = 0;
  std::map<uint64_t, TrialFacts> trials;
};

// Reads every fact of the journal `db` (at `path`, for messages).
StatusOr<SweepFacts> LoadSweepFacts(sqlite3* db, const std::string& path);

// Whether a trial in the journaled state `state` never runs again.
bool IsFinalState(const std::string& state);

}  // namespace polysweep::check
