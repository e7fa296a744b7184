// The sweep journal: every fact of a sweep in one SQLite file (WAL mode).
// The coordinator is its only writer; the CLI reads it when no coordinator
// runs. Writes are idempotent where a fact can arrive twice (progress,
// evaluations): a (trial, attempt, step) is stored once.
// Not thread-safe: one Journal per thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/search_space.h"
#include "common/status.h"
#include "polysweep.pb.h"

struct sqlite3;

namespace polysweep {

inline constexpr int kJournalSchemaVersion = 2;

// What a restarted coordinator reads back.
struct JournalSweep {
  std::string name;
  std::string config;    // the config's text when the sweep started
  std::string state;     // running, finished, interrupted
  std::string endpoint;  // where the last coordinator listened (ranks know it)
};

struct JournalTrial {
  uint64_t id = 0;
  std::string hparams_json;
  std::string state;     // pending, running, preempted, completed, failed, stopped
  uint32_t attempt = 0;
  int restarts = 0;
  std::string process;   // the launcher's handle of the running attempt
  double started_at = 0;
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
  Status SetRestarts(uint64_t trial, int restarts);

  Status AddTrial(uint64_t trial, const ParamAssignment& params);
  // Moves a trial to `state`, recording the transition and its reason.
  Status Transition(uint64_t trial, uint32_t attempt, const std::string& state,
                    const std::string& reason);
  Status RecordProgress(uint64_t trial, uint32_t attempt, const wire::Progress& p);
  Status RecordEvaluation(uint64_t trial, uint32_t attempt, const wire::Evaluation& e,
                          double objective);
  // Final state of a trial: outcome is "completed", "failed" or "stopped";
  // `reason` classes a failure ("crashed rank", "hang", "bad config", ...).
  Status FinishTrial(uint64_t trial, uint32_t attempt, const std::string& outcome,
                     const std::string& error, const std::string& reason = "");
  Status FinishSweep(const std::string& state);

  // Everything a CLI view needs, read from the file.
  StatusOr<wire::StatusReply> Snapshot() const;

  const std::string& path() const { return path_; }

 private:
  Journal(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  static StatusOr<std::unique_ptr<Journal>> OpenExisting(const std::string& path, bool writable);
  Status Exec(const std::string& sql) const;
  sqlite3* db_;
  std::string path_;
};

// Hyperparameters <-> the JSON object stored in the journal.
std::string ParamsToJson(const ParamAssignment& params);

}  // namespace polysweep
