// The sweep journal: every fact of a sweep in one SQLite file (WAL mode).
// The coordinator is its only writer; the CLI reads it when no coordinator
// runs. Writes are idempotent where a fact can arrive twice (progress,
// evaluations): a (trial, attempt, step) is stored once.
// Not thread-safe: one Journal per thread.
#pragma once

#include <memory>
#include <string>

#include "common/config.h"
#include "common/search_space.h"
#include "common/status.h"
#include "polysweep.pb.h"

struct sqlite3;

namespace polysweep {

inline constexpr int kJournalSchemaVersion = 1;

class Journal {
 public:
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Creates a new journal at `path` (which must not exist) for `config`.
  static StatusOr<std::unique_ptr<Journal>> Create(const std::string& path, const SweepConfig& config);
  // Opens an existing journal read-only (for the CLI).
  static StatusOr<std::unique_ptr<Journal>> OpenReadOnly(const std::string& path);

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
  Status Exec(const std::string& sql) const;
  sqlite3* db_;
  std::string path_;
};

// Hyperparameters <-> the JSON object stored in the journal.
std::string ParamsToJson(const ParamAssignment& params);

}  // namespace polysweep
