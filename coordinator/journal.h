// The sweep journal: every fact of a sweep in one SQLite file (WAL mode).
// The coordinator is its only writer; the CLI reads it when no coordinator
// runs. Writes are idempotent where a fact can arrive twice (progress,
// evaluations): a (trial, step) is stored once, by whichever attempt.
// Not thread-safe: one Journal per thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/config.h"
#include "common/search_space.h"
#include "common/status.h"
#include "common/trial_state.h"
#include "coordinator/wal_checkpointer.h"
#include "polysweep.pb.h"

struct sqlite3;
struct sqlite3_stmt;

namespace polysweep {

inline constexpr int kJournalSchemaVersion = 6;

enum class SweepState { kRunning, kFinished, kInterrupted };
const char* SweepStateName(SweepState state);
std::optional<SweepState> ParseSweepState(const std::string& name);

// What a restarted coordinator reads back.
struct JournalSweep {
  std::string name;
  std::string config;    // the config's text when the sweep started
  SweepState state = SweepState::kRunning;
  std::string endpoint;  // where the last coordinator listened (ranks know it)
  std::string searcher_state;  // the searcher's state after the last trial it issued
};

struct JournalTrial {
  uint64_t id = 0;
  std::string hparams_json;
  TrialState state = TrialState::kPending;
  uint32_t attempt = 0;
  int restarts = 0;
  std::string process;   // the launcher's handle of the running attempt
  double started_at = 0;
};

// What a decision about a trial was (journaled as DecisionKindName).
enum class DecisionKind {
  kRung,       // the trial paused at its stop with `score`
  kPromote,    // it resumes from its rung to train to `stop_at`
  kContinue,   // promoted at its stop `step` with `score` as it reached it: trains on to `stop_at` without pausing
  kResume,     // the owner resumed it to train to `stop_at`
  kPrune,      // its scheduler told it to stop at `step` (the evaluation it judged)
  kStop,       // the owner told it to stop
  kPause,      // the owner told it to pause
  kDrain,      // checkpoint and stop: the coordinator's job is about to end
  kEarlyStop,  // it completed at `step`: no better score in its patience
};
// "rung", "promote", "continue", "resume", "prune", "stop", "pause", "drain", "early stop".
const char* DecisionKindName(DecisionKind kind);
std::optional<DecisionKind> ParseDecisionKind(const std::string& name);

// A scheduler's or the owner's decision, journaled before it is acted on.
struct JournalDecision {
  uint64_t trial = 0;
  uint32_t attempt = 0;
  DecisionKind kind = DecisionKind::kRung;
  int64_t step = 0;
  double score = 0;     // higher is better
  int64_t stop_at = 0;
  std::string detail;   // for people: why
  double at = 0;        // when it was made (read back by the journal checker)
};

// An evaluation's objective (as configured, not yet oriented).
struct JournalEvaluation {
  uint64_t trial = 0;
  int64_t step = 0;
  double objective = 0;
  bool feasible = true;
};

// A trial's record, for `polysweep describe` and `export`.
struct JournalTransition {
  uint32_t attempt = 0;
  double at = 0;
  std::string from, to, reason;
};
struct JournalProgressPoint {
  uint32_t attempt = 0;
  int64_t step = 0;
  double loss = 0, lr = 0, samples_per_sec = 0, at = 0;
  int64_t max_steps = 0;
  std::optional<int64_t> resumed_from;  // none: journaled before polysweep recorded it
};
struct JournalEvaluationPoint {
  uint32_t attempt = 0;
  int64_t step = 0;
  double loss = 0, accuracy = 0, macro_f1 = 0;
  double objective = 0;  // NaN when the metric could not be computed
  bool final = false, feasible = true;
  double at = 0;
  std::vector<wire::LanguageScore> languages;
};
struct JournalTrialHistory {
  uint64_t id = 0;
  int restarts = 0;
  double created_at = 0;
  std::vector<JournalTransition> transitions;   // oldest first
  std::vector<JournalProgressPoint> progress;   // by attempt, then step
  std::vector<JournalEvaluationPoint> evaluations;
  std::vector<JournalDecision> decisions;       // the scheduler's, in order
};

// Every trial's learning curve (training loss per step) and evaluations
// (without their per-language scores), for the dashboard's plots.
struct JournalCurves {
  std::map<uint64_t, std::vector<JournalProgressPoint>> progress;
  std::map<uint64_t, std::vector<JournalEvaluationPoint>> evaluations;
};

// A trial's best checkpoint scored on the test split when the sweep ended:
// the scorer's one-line summary and its whole report (JSON).
struct JournalTestScore {
  uint64_t trial = 0;
  std::string summary;
  std::string report;
  double at = 0;
};

class Journal {
 public:
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Creates a new journal at `path` (which must not exist) for `config`.
  static StatusOr<std::unique_ptr<Journal>> Create(const std::string& path, const SweepConfig& config);
  // Opens an existing journal read-only (for the CLI).
  static StatusOr<std::unique_ptr<Journal>> OpenReadOnly(const std::string& path);
  // Opens an existing journal to continue its sweep (upgrading its schema).
  static StatusOr<std::unique_ptr<Journal>> Open(const std::string& path);

  StatusOr<JournalSweep> Sweep() const;
  StatusOr<std::vector<JournalTrial>> Trials() const;
  // Records where this coordinator listens; the sweep is running again.
  Status SetEndpoint(const std::string& endpoint);
  // The launcher's handle of a trial's running attempt (cleared when it ends).
  Status SetProcess(uint64_t trial, uint32_t attempt, const std::string& process);
  // The Slurm "JOB.STEP" the trial's current attempt runs in (status shows it).
  Status SetSlurmStep(uint64_t trial, const std::string& step);
  Status SetRestarts(uint64_t trial, int restarts);

  // With the searcher's state after issuing it, in the same transaction.
  Status AddTrial(uint64_t trial, const ParamAssignment& params, const std::string& searcher_state = "");
  // Moves a trial to `state`, recording the transition and its reason.
  Status Transition(uint64_t trial, uint32_t attempt, TrialState state, const std::string& reason);
  // Progress and evaluations are stored once per (trial, step), whatever
  // attempt reports them: a step an earlier attempt reported is not stored
  // again (false), so a resumed trial's journal reads as if it had never been
  // interrupted. A report with origin_attempt (replayed from a checkpoint)
  // is stored as that attempt's.
  StatusOr<bool> RecordProgress(uint64_t trial, uint32_t attempt, const wire::Progress& p);
  // WAL checkpoints run on the journal's checkpoint thread so far.
  int64_t background_checkpoints() const { return checkpointer_ ? checkpointer_->checkpoints() : 0; }
  // `feasible`: the evaluation meets the metric's constraints.
  StatusOr<bool> RecordEvaluation(uint64_t trial, uint32_t attempt, const wire::Evaluation& e,
                                  double objective, bool feasible = true);
  // Final state of a trial (a final TrialState); `reason` classes a
  // failure ("crashed rank", "hang", "bad config", ...).
  Status FinishTrial(uint64_t trial, uint32_t attempt, TrialState outcome, const std::string& error,
                     const std::string& reason = "");
  Status FinishSweep(SweepState state);
  Status AddDecision(const JournalDecision& decision);
  // In the order they were made.
  StatusOr<std::vector<JournalDecision>> Decisions() const;
  StatusOr<std::vector<JournalEvaluation>> Objectives() const;
  // The test split's score of a trial's best checkpoint (replacing an earlier one).
  Status RecordTestScore(uint64_t trial, const std::string& summary, const std::string& report);
  // Every trial's test score, by trial id (none in a journal older than version 6).
  StatusOr<std::vector<JournalTestScore>> TestScores() const;

  // Group commit: the writes between BeginBatch and CommitBatch become one
  // transaction (one commit for many facts); a fact written outside a batch
  // commits alone. Nothing written in a batch is on disk before CommitBatch
  // returns Ok, so acknowledge only after it.
  Status BeginBatch();
  Status CommitBatch();
  bool in_batch() const { return batch_; }

  // One trial's transitions, reports, evaluations (with per-language scores)
  // and scheduler decisions; an error naming the trial when there is none.
  StatusOr<JournalTrialHistory> History(uint64_t trial) const;
  // Every trial's curves, each thinned to about `max_points` points (each
  // attempt's first and last step among them). A long curve is not read
  // whole: its points are found at evenly spaced steps, one index seek each.
  StatusOr<JournalCurves> Curves(size_t max_points) const;
  // The best evaluation of any trial that did not fail (feasible ones first,
  // then by objective in the sweep's mode); nullopt before the first.
  StatusOr<std::optional<JournalEvaluation>> BestEvaluation(bool maximize) const;

  // Everything a CLI view needs, read from the file.
  StatusOr<wire::StatusReply> Snapshot() const;

  const std::string& path() const { return path_; }

 private:
  Journal(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  static StatusOr<std::unique_ptr<Journal>> OpenExisting(const std::string& path, bool writable);
  Status Exec(const std::string& sql) const;
  // Hands the WAL's checkpoints to a thread of their own (writable journals).
  void CheckpointInBackground();
  static int WalHook(void* journal, sqlite3* db, const char* name, int wal_pages);
  // A statement prepared once and kept for the hot paths (`sql` is a literal).
  struct sqlite3_stmt* Cached(const char* sql);
  sqlite3* db_;
  std::string path_;
  bool batch_ = false;
  int64_t version_ = kJournalSchemaVersion;  // of the file; older ones are read as they are
  std::map<const char*, struct sqlite3_stmt*> cached_;
  // The highest step of each trial's stored progress, read once per trial.
  int64_t HighestProgressStep(uint64_t trial);
  std::unordered_map<uint64_t, int64_t> highest_progress_step_;
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

// The indices of the points of an `n`-point curve kept when it is thinned to
// at most `max` (≥ 2): all of them when n ≤ max, else evenly spaced, the first
// and the last always among them.
std::vector<size_t> ThinnedIndices(size_t n, size_t max);

// Hyperparameters <-> the JSON object stored in the journal.
std::string ParamsToJson(const ParamAssignment& params);
StatusOr<ParamAssignment> ParamsFromJson(const std::string& text);

}  // namespace polysweep
