#include "coordinator/journal.h"

#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/names.h"
#include "common/objective.h"
#include "coordinator/journal_sql.h"

using polysweep::journal_sql::FillLanguages;
using polysweep::journal_sql::Stmt;

namespace polysweep {
namespace {

const char* kSchema = R"sql(
CREATE TABLE sweeps(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  config TEXT NOT NULL,
  metric TEXT NOT NULL,
  maximize INTEGER NOT NULL,
  max_trials INTEGER NOT NULL,
  state TEXT NOT NULL,
  created_at REAL NOT NULL,
  finished_at REAL,
  endpoint TEXT,
  searcher_state TEXT);
CREATE TABLE trials(
  id INTEGER PRIMARY KEY,
  hparams TEXT NOT NULL,
  state TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  created_at REAL NOT NULL,
  started_at REAL,
  finished_at REAL,
  outcome TEXT,
  reason TEXT,
  error TEXT,
  restarts INTEGER NOT NULL DEFAULT 0,
  process TEXT,
  slurm_step TEXT);
CREATE TABLE transitions(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  trial_id INTEGER NOT NULL REFERENCES trials(id),
  attempt INTEGER NOT NULL,
  at REAL NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  reason TEXT NOT NULL);
CREATE TABLE progress(
  trial_id INTEGER NOT NULL REFERENCES trials(id),
  attempt INTEGER NOT NULL,
  step INTEGER NOT NULL,
  loss REAL, lr REAL, samples_per_sec REAL, samples INTEGER, max_steps INTEGER,
  at REAL NOT NULL,
  PRIMARY KEY(trial_id, attempt, step));
CREATE TABLE evaluations(
  trial_id INTEGER NOT NULL REFERENCES trials(id),
  attempt INTEGER NOT NULL,
  step INTEGER NOT NULL,
  loss REAL, accuracy REAL, macro_f1 REAL, objective REAL,
  final INTEGER NOT NULL,
  feasible INTEGER NOT NULL DEFAULT 1,
  at REAL NOT NULL,
  PRIMARY KEY(trial_id, attempt, step));
CREATE TABLE language_scores(
  trial_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  step INTEGER NOT NULL,
  lang TEXT NOT NULL,
  f1 REAL, accuracy REAL, count INTEGER,
  PRIMARY KEY(trial_id, attempt, step, lang));
)sql";

// The scheduler's decisions (schema version 3).
const char* kDecisionsTable = R"sql(
CREATE TABLE decisions(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  trial_id INTEGER NOT NULL REFERENCES trials(id),
  attempt INTEGER NOT NULL,
  kind TEXT NOT NULL,
  step INTEGER NOT NULL,
  score REAL,
  stop_at INTEGER NOT NULL,
  detail TEXT NOT NULL,
  at REAL NOT NULL);
)sql";

// Version 4 -> 5 (and new journals): a trial's progress and evaluations are
// stored once per step whatever attempt reports them, found by these
// indices; each progress row says which checkpoint step its attempt
// resumed from.
const char* kMigrateTo5 = R"sql(
ALTER TABLE progress ADD COLUMN resumed_from INTEGER;
CREATE INDEX progress_by_step ON progress(trial_id, step);
CREATE INDEX evaluations_by_step ON evaluations(trial_id, step);
)sql";

// Version 5 -> 6: the test split's scores of the best trials' checkpoints.
const char* kMigrateTo6 = R"sql(
CREATE TABLE test_scores(
  trial_id INTEGER PRIMARY KEY REFERENCES trials(id),
  summary TEXT NOT NULL, report TEXT NOT NULL, at REAL NOT NULL);
)sql";

// Version 3 -> 4: the Slurm job and step a trial runs in.
const char* kMigrateTo4 = R"sql(
ALTER TABLE trials ADD COLUMN slurm_step TEXT;
)sql";

// Version 2 -> 3: the scheduler's decisions, constraint feasibility, the
// searcher's state.
const char* kMigrateTo3 = R"sql(
ALTER TABLE evaluations ADD COLUMN feasible INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sweeps ADD COLUMN searcher_state TEXT;
)sql";

// Version 1 -> 2: what a restarted coordinator needs to re-adopt running trials.
const char* kMigrateTo2 = R"sql(
ALTER TABLE sweeps ADD COLUMN endpoint TEXT;
ALTER TABLE trials ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN process TEXT;
)sql";

constexpr std::array<std::pair<DecisionKind, const char*>, 9> kDecisionNames = {{
    {DecisionKind::kRung, "rung"},     {DecisionKind::kPromote, "promote"}, {DecisionKind::kContinue, "continue"},
    {DecisionKind::kResume, "resume"}, {DecisionKind::kPrune, "prune"},     {DecisionKind::kStop, "stop"},
    {DecisionKind::kPause, "pause"},   {DecisionKind::kDrain, "drain"},     {DecisionKind::kEarlyStop, "early stop"},
}};

constexpr std::array<std::pair<SweepState, const char*>, 3> kSweepStateNames = {{
    {SweepState::kRunning, "running"}, {SweepState::kFinished, "finished"}, {SweepState::kInterrupted, "interrupted"}}};

}  // namespace

const char* DecisionKindName(DecisionKind kind) { return NameOf(kDecisionNames, kind); }

std::optional<DecisionKind> ParseDecisionKind(const std::string& name) { return ValueOf(kDecisionNames, name); }

const char* SweepStateName(SweepState state) { return NameOf(kSweepStateNames, state); }

std::optional<SweepState> ParseSweepState(const std::string& name) { return ValueOf(kSweepStateNames, name); }

std::string ParamsToJson(const ParamAssignment& params) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : params) j[k] = v.ToString();
  return j.dump();
}

StatusOr<ParamAssignment> ParamsFromJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::Error("journaled hyperparameters are not a JSON object: " + text);
  ParamAssignment out;
  for (auto& [k, v] : j.items()) {
    if (!v.is_string()) return Status::Error("journaled hyperparameter " + k + " is not a string: " + text);
    out[k] = ParamValue::Parse(v.get<std::string>());
  }
  return out;
}

Journal::~Journal() {
  for (auto& [sql, stmt] : cached_) sqlite3_finalize(stmt);
  checkpointer_.reset();  // its connection closes first: the last one to close checkpoints and removes the WAL
  sqlite3_close(db_);
}

void Journal::CheckpointInBackground() {
  checkpointer_ = std::make_unique<WalCheckpointer>(path_);
  sqlite3_wal_hook(db_, &Journal::WalHook, this);  // replaces SQLite's automatic checkpoint
}

int Journal::WalHook(void* journal, sqlite3* db, const char*, int wal_pages) {
  // A WAL this far past the nudge means the checkpoint thread cannot keep
  // up or cannot run: checkpoint here, in the commit, as SQLite would.
  constexpr int kInlinePages = 20 * WalCheckpointer::kNudgePages;
  if (wal_pages >= kInlinePages) {
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else {
    static_cast<Journal*>(journal)->checkpointer_->Committed(wal_pages);
  }
  return SQLITE_OK;
}

sqlite3_stmt* Journal::Cached(const char* sql) {
  sqlite3_stmt*& stmt = cached_[sql];
  if (!stmt && sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    stmt = nullptr;
  }
  return stmt;
}

Status Journal::Exec(const std::string& sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Error(path_ + ": " + msg);
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Journal>> Journal::Create(const std::string& path, const SweepConfig& config) {
  if (std::filesystem::exists(path)) return Status::Error(path + ": journal already exists");
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Error(path + ": cannot create journal: " + msg);
  }
  std::unique_ptr<Journal> j(new Journal(db, path));
  sqlite3_busy_timeout(db, 5000);
  Status s = j->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
  if (s.ok()) s = j->Exec(std::string("BEGIN;") + kSchema + kDecisionsTable + kMigrateTo5 + kMigrateTo6 + "PRAGMA user_version=" +
                          std::to_string(kJournalSchemaVersion) + ";");
  if (s.ok()) {
    Stmt ins(db, "INSERT INTO sweeps(id, name, config, metric, maximize, max_trials, state, created_at) "
                 "VALUES(1, ?, ?, ?, ?, ?, 'running', ?)");
    ins.Bind(1, config.name).Bind(2, config.source_text).Bind(3, MetricLabel(config.metric))
        .Bind(4, static_cast<int64_t>(config.metric.maximize))
        .Bind(5, static_cast<int64_t>(config.budget.max_trials)).Bind(6, WallSeconds());
    s = ins.Run();
  }
  if (s.ok()) s = j->Exec("COMMIT;");
  if (s.ok()) j->CheckpointInBackground();
  if (!s.ok()) {
    j.reset();
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    return s;
  }
  return j;
}

StatusOr<std::unique_ptr<Journal>> Journal::OpenExisting(const std::string& path, bool writable) {
  if (!std::filesystem::is_regular_file(path)) return Status::Error(path + ": no journal here");
  sqlite3* db = nullptr;
  const int flags = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Error(path + ": cannot open journal: " + msg);
  }
  std::unique_ptr<Journal> j(new Journal(db, path));
  sqlite3_busy_timeout(db, 5000);
  int64_t version = 0;
  {
    Stmt v(db, "PRAGMA user_version");
    if (!v.Next()) return Status::Error(path + ": not a polysweep journal (" + sqlite3_errmsg(db) + ")");
    version = v.Int(0);
  }
  if (version > kJournalSchemaVersion) {
    return Status::Error(path + ": journal schema version " + std::to_string(version) +
                         " is newer than this polysweep understands (" +
                         std::to_string(kJournalSchemaVersion) + "); upgrade polysweep");
  }
  if (version < 1) return Status::Error(path + ": not a polysweep journal");
  j->version_ = writable ? kJournalSchemaVersion : version;
  if (writable) {
    PS_RETURN_IF_ERROR(j->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
    if (version < 2) {
      PS_RETURN_IF_ERROR(j->Exec(std::string("BEGIN IMMEDIATE;") + kMigrateTo2 + "PRAGMA user_version=2; COMMIT;")
                             .With("cannot upgrade the journal to schema version 2"));
    }
    if (version < 3) {
      PS_RETURN_IF_ERROR(j->Exec(std::string("BEGIN IMMEDIATE;") + kMigrateTo3 + kDecisionsTable + "PRAGMA user_version=3; COMMIT;")
                             .With("cannot upgrade the journal to schema version 3"));
    }
    if (version < 4) {
      PS_RETURN_IF_ERROR(j->Exec(std::string("BEGIN IMMEDIATE;") + kMigrateTo4 + "PRAGMA user_version=4; COMMIT;")
                             .With("cannot upgrade the journal to schema version 4"));
    }
    if (version < 5) {
      PS_RETURN_IF_ERROR(j->Exec(std::string("BEGIN IMMEDIATE;") + kMigrateTo5 + "PRAGMA user_version=5; COMMIT;")
                             .With("cannot upgrade the journal to schema version 5"));
    }
    if (version < 6) {
      PS_RETURN_IF_ERROR(j->Exec(std::string("BEGIN IMMEDIATE;") + kMigrateTo6 + "PRAGMA user_version=6; COMMIT;")
                             .With("cannot upgrade the journal to schema version 6"));
    }
    j->CheckpointInBackground();
  }
  return j;
}

StatusOr<std::unique_ptr<Journal>> Journal::OpenReadOnly(const std::string& path) {
  return OpenExisting(path, false);
}

StatusOr<std::unique_ptr<Journal>> Journal::Open(const std::string& path) { return OpenExisting(path, true); }

StatusOr<JournalSweep> Journal::Sweep() const {
  Stmt q(db_, "SELECT name, config, state, endpoint, searcher_state FROM sweeps WHERE id=1");
  if (!q.Next()) return Status::Error(path_ + ": journal has no sweep");
  JournalSweep s;
  s.name = q.Text(0);
  s.config = q.Text(1);
  const auto state = ParseSweepState(q.Text(2));
  if (!state) return Status::Error(path_ + ": the sweep is in an unknown state \"" + q.Text(2) + "\"");
  s.state = *state;
  s.endpoint = q.Text(3);
  s.searcher_state = q.Text(4);
  return s;
}

StatusOr<std::vector<JournalTrial>> Journal::Trials() const {
  Stmt q(db_, "SELECT id, hparams, state, attempt, restarts, process, started_at FROM trials ORDER BY id");
  if (!q.ok()) return q.Error();
  std::vector<JournalTrial> trials;
  while (q.Next()) {
    JournalTrial t;
    t.id = static_cast<uint64_t>(q.Int(0));
    t.hparams_json = q.Text(1);
    auto state = ParseTrialState(q.Text(2));
    if (!state) return Status::Error(path_ + ": trial " + std::to_string(t.id) + " is in an unknown state \"" + q.Text(2) + "\"");
    t.state = *state;
    t.attempt = static_cast<uint32_t>(q.Int(3));
    t.restarts = static_cast<int>(q.Int(4));
    t.process = q.Text(5);
    t.started_at = q.Null(6) ? 0 : q.Real(6);
    trials.push_back(std::move(t));
  }
  return trials;
}

Status Journal::SetEndpoint(const std::string& endpoint) {
  Stmt up(db_, "UPDATE sweeps SET endpoint=?, state='running', finished_at=NULL WHERE id=1");
  up.Bind(1, endpoint);
  return up.Run();
}

Status Journal::SetProcess(uint64_t trial, uint32_t attempt, const std::string& process) {
  Stmt up(db_, "UPDATE trials SET process=? WHERE id=? AND attempt=?");
  up.Bind(1, process).Bind(2, static_cast<int64_t>(trial)).Bind(3, static_cast<int64_t>(attempt));
  return up.Run();
}

Status Journal::SetSlurmStep(uint64_t trial, const std::string& step) {
  Stmt up(db_, "UPDATE trials SET slurm_step=? WHERE id=?");
  up.Bind(1, step).Bind(2, static_cast<int64_t>(trial));
  return up.Run();
}

Status Journal::SetRestarts(uint64_t trial, int restarts) {
  Stmt up(db_, "UPDATE trials SET restarts=? WHERE id=?");
  up.Bind(1, static_cast<int64_t>(restarts)).Bind(2, static_cast<int64_t>(trial));
  return up.Run();
}

Status Journal::AddTrial(uint64_t trial, const ParamAssignment& params, const std::string& searcher_state) {
  PS_RETURN_IF_ERROR(Exec("SAVEPOINT fact;"));
  Stmt ins(db_, "INSERT INTO trials(id, hparams, state, attempt, created_at) VALUES(?, ?, 'pending', 0, ?)");
  ins.Bind(1, static_cast<int64_t>(trial)).Bind(2, ParamsToJson(params)).Bind(3, WallSeconds());
  Status s = ins.Run();
  if (s.ok() && !searcher_state.empty()) {
    Stmt up(db_, "UPDATE sweeps SET searcher_state=? WHERE id=1");
    up.Bind(1, searcher_state);
    s = up.Run();
  }
  if (!s.ok()) {
    Exec("ROLLBACK TO fact; RELEASE fact;");
    return s;
  }
  return Exec("RELEASE fact;");
}

Status Journal::Transition(uint64_t trial, uint32_t attempt, TrialState to, const std::string& reason) {
  const std::string state = TrialStateName(to);
  PS_RETURN_IF_ERROR(Exec("SAVEPOINT fact;"));
  const double now = WallSeconds();
  Stmt ins(db_, "INSERT INTO transitions(trial_id, attempt, at, from_state, to_state, reason) "
                "SELECT id, ?, ?, state, ?, ? FROM trials WHERE id=?");
  ins.Bind(1, static_cast<int64_t>(attempt)).Bind(2, now).Bind(3, state).Bind(4, reason)
      .Bind(5, static_cast<int64_t>(trial));
  Status s = ins.Run();
  if (s.ok() && sqlite3_changes(db_) == 0) s = Status::Error(path_ + ": no trial " + std::to_string(trial));
  if (s.ok()) {
    Stmt up(db_, "UPDATE trials SET state=?, attempt=?, "
                 "started_at=CASE WHEN ?='running' AND started_at IS NULL THEN ? ELSE started_at END "
                 "WHERE id=?");
    up.Bind(1, state).Bind(2, static_cast<int64_t>(attempt)).Bind(3, state).Bind(4, now)
        .Bind(5, static_cast<int64_t>(trial));
    s = up.Run();
  }
  if (!s.ok()) {
    Exec("ROLLBACK TO fact; RELEASE fact;");
    return s;
  }
  return Exec("RELEASE fact;");
}

namespace {

// The attempt a report is stored as: its own, or for a report an earlier
// attempt made and this one replays, that earlier attempt.
int64_t StoredAttempt(uint32_t attempt, uint32_t origin) {
  return static_cast<int64_t>(origin > 0 && origin < attempt ? origin : attempt);
}

}  // namespace

int64_t Journal::HighestProgressStep(uint64_t trial) {
  auto [it, added] = highest_progress_step_.try_emplace(trial, -1);
  if (added) {
    Stmt q(db_, Cached("SELECT MAX(step) FROM progress WHERE trial_id=?"));
    q.Bind(1, static_cast<int64_t>(trial));
    if (q.Next() && !q.Null(0)) it->second = q.Int(0);
  }
  return it->second;
}

StatusOr<bool> Journal::RecordProgress(uint64_t trial, uint32_t attempt, const wire::Progress& p) {
  // A step past the highest stored is new: it goes in without the probe for
  // a stored row (the hot path: each report once, in step order). At or
  // below it (a replay, a resent batch) the insert checks. A rolled-back
  // batch leaves the highest too high, which only costs a probe.
  const bool beyond = p.step() > HighestProgressStep(trial);
  Stmt ins(db_, beyond ? Cached("INSERT INTO progress(trial_id, attempt, step, loss, lr, samples_per_sec, samples, "
                                "max_steps, at, resumed_from) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)")
                       : Cached("INSERT INTO progress(trial_id, attempt, step, loss, lr, samples_per_sec, samples, "
                                "max_steps, at, resumed_from) SELECT ?1,?2,?3,?4,?5,?6,?7,?8,?9,?10 WHERE NOT EXISTS "
                                "(SELECT 1 FROM progress WHERE trial_id=?1 AND step=?3)"));
  ins.Bind(1, static_cast<int64_t>(trial)).Bind(2, StoredAttempt(attempt, p.origin_attempt())).Bind(3, p.step())
      .Bind(4, p.loss()).Bind(5, p.lr()).Bind(6, p.samples_per_sec()).Bind(7, p.samples())
      .Bind(8, p.max_steps()).Bind(9, WallSeconds()).Bind(10, p.resumed_from());
  PS_RETURN_IF_ERROR(ins.Run());
  if (beyond) highest_progress_step_[trial] = p.step();
  return sqlite3_changes(db_) > 0;
}

StatusOr<bool> Journal::RecordEvaluation(uint64_t trial, uint32_t attempt, const wire::Evaluation& e,
                                         double objective, bool feasible) {
  PS_RETURN_IF_ERROR(Exec("SAVEPOINT fact;"));
  const int64_t stored = StoredAttempt(attempt, e.origin_attempt());
  Stmt ins(db_, Cached("INSERT INTO evaluations(trial_id, attempt, step, loss, accuracy, macro_f1, objective, final, at, "
                       "feasible) SELECT ?1,?2,?3,?4,?5,?6,?7,?8,?9,?10 WHERE NOT EXISTS "
                       "(SELECT 1 FROM evaluations WHERE trial_id=?1 AND step=?3)"));
  ins.Bind(1, static_cast<int64_t>(trial)).Bind(2, stored).Bind(3, e.step())
      .Bind(4, e.loss()).Bind(5, e.accuracy()).Bind(6, e.macro_f1()).Bind(7, objective)
      .Bind(8, static_cast<int64_t>(e.final())).Bind(9, WallSeconds()).Bind(10, static_cast<int64_t>(feasible));
  Status s = ins.Run();
  const bool inserted = s.ok() && sqlite3_changes(db_) > 0;
  for (const auto& l : e.languages()) {
    if (!s.ok() || !inserted) break;
    Stmt li(db_, Cached("INSERT OR IGNORE INTO language_scores(trial_id, attempt, step, lang, f1, accuracy, count) "
                        "VALUES(?,?,?,?,?,?,?)"));
    li.Bind(1, static_cast<int64_t>(trial)).Bind(2, stored).Bind(3, e.step())
        .Bind(4, l.lang()).Bind(5, l.f1()).Bind(6, l.accuracy()).Bind(7, static_cast<int64_t>(l.count()));
    s = li.Run();
  }
  if (!s.ok()) {
    Exec("ROLLBACK TO fact; RELEASE fact;");
    return s;
  }
  PS_RETURN_IF_ERROR(Exec("RELEASE fact;"));
  return inserted;
}

Status Journal::FinishTrial(uint64_t trial, uint32_t attempt, TrialState final_state, const std::string& error,
                            const std::string& reason) {
  const std::string outcome = TrialStateName(final_state);
  PS_RETURN_IF_ERROR(Transition(trial, attempt, final_state, error.empty() ? outcome : error));
  Stmt up(db_, "UPDATE trials SET outcome=?, error=?, reason=?, finished_at=?, process=NULL WHERE id=?");
  up.Bind(1, outcome).Bind(2, error).Bind(3, reason).Bind(4, WallSeconds()).Bind(5, static_cast<int64_t>(trial));
  return up.Run();
}

Status Journal::BeginBatch() {
  if (batch_) return Status::Ok();
  PS_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE;"));
  batch_ = true;
  return Status::Ok();
}

Status Journal::CommitBatch() {
  if (!batch_) return Status::Ok();
  batch_ = false;
  Status s = Exec("COMMIT;");
  if (!s.ok()) Exec("ROLLBACK;");
  return s;
}

Status Journal::AddDecision(const JournalDecision& d) {
  Stmt q(db_, "INSERT INTO decisions(trial_id, attempt, kind, step, score, stop_at, detail, at) "
              "VALUES(?,?,?,?,?,?,?,?)");
  const std::string kind = DecisionKindName(d.kind);
  q.Bind(1, static_cast<int64_t>(d.trial)).Bind(2, static_cast<int64_t>(d.attempt)).Bind(3, kind);
  q.Bind(4, d.step).Bind(5, d.score).Bind(6, d.stop_at).Bind(7, d.detail).Bind(8, d.at > 0 ? d.at : WallSeconds());
  return q.Run().With(path_ + ": recording a " + kind + " decision for trial " + std::to_string(d.trial));
}

StatusOr<std::vector<JournalDecision>> Journal::Decisions() const {
  Stmt q(db_, "SELECT trial_id, attempt, kind, step, score, stop_at, detail FROM decisions ORDER BY id");
  if (!q.ok()) return q.Error();
  std::vector<JournalDecision> out;
  while (q.Next()) {
    auto kind = ParseDecisionKind(q.Text(2));
    if (!kind) return Status::Error(path_ + ": a decision of unknown kind \"" + q.Text(2) + "\"");
    out.push_back(JournalDecision{static_cast<uint64_t>(q.Int(0)), static_cast<uint32_t>(q.Int(1)), *kind,
                                  q.Int(3), q.Null(4) ? NAN : q.Real(4), q.Int(5), q.Text(6)});
  }
  return out;
}

StatusOr<std::vector<JournalEvaluation>> Journal::Objectives() const {
  Stmt q(db_, "SELECT trial_id, step, objective, feasible FROM evaluations ORDER BY trial_id, attempt, step");
  if (!q.ok()) return q.Error();
  std::vector<JournalEvaluation> out;
  while (q.Next()) {
    out.push_back(JournalEvaluation{static_cast<uint64_t>(q.Int(0)), q.Int(1), q.Null(2) ? NAN : q.Real(2),
                                    q.Int(3) != 0});
  }
  return out;
}

Status Journal::FinishSweep(SweepState state) {
  Stmt up(db_, "UPDATE sweeps SET state=?, finished_at=? WHERE id=1");
  up.Bind(1, std::string(SweepStateName(state))).Bind(2, WallSeconds());
  return up.Run();
}

StatusOr<wire::StatusReply> Journal::Snapshot() const {
  wire::StatusReply reply;
  {
    Stmt q(db_, "SELECT name, state, metric, maximize, max_trials, created_at, finished_at FROM sweeps WHERE id=1");
    if (!q.Next()) return Status::Error(path_ + ": journal has no sweep");
    reply.set_sweep(q.Text(0));
    reply.set_state(q.Text(1));
    reply.set_metric(q.Text(2));
    reply.set_maximize(q.Int(3) != 0);
    reply.set_max_trials(static_cast<int32_t>(q.Int(4)));
    reply.set_created_at(q.Real(5));
    if (!q.Null(6)) reply.set_finished_at(q.Real(6));
  }
  Stmt q(db_, version_ >= 4 ? "SELECT id, state, attempt, hparams, started_at, finished_at, outcome, error, reason, "
                             "slurm_step FROM trials ORDER BY id"
                           : "SELECT id, state, attempt, hparams, started_at, finished_at, outcome, error, reason, "
                             "NULL FROM trials ORDER BY id");
  while (q.Next()) {
    wire::TrialSummary* t = reply.add_trials();
    t->set_id(static_cast<uint64_t>(q.Int(0)));
    t->set_state(q.Text(1));
    t->set_attempt(static_cast<uint32_t>(q.Int(2)));
    auto params = nlohmann::json::parse(q.Text(3), nullptr, false);
    if (params.is_object()) {
      for (auto& [k, v] : params.items()) {
        if (v.is_string()) (*t->mutable_hparams())[k] = v.get<std::string>();
      }
    }
    if (!q.Null(4)) t->set_started_at(q.Real(4));
    if (!q.Null(5)) t->set_finished_at(q.Real(5));
    t->set_outcome(q.Text(6));
    t->set_error(q.Text(7));
    t->set_reason(q.Text(8));
    t->set_slurm_step(q.Text(9));
    // The furthest step of any attempt: a resumed attempt continues the
    // steps of the one before (a step is stored once), and shows its
    // figures until it passes them.
    Stmt p(db_, "SELECT step, loss, samples_per_sec, max_steps FROM progress "
                "WHERE trial_id=? ORDER BY step DESC, attempt DESC LIMIT 1");
    p.Bind(1, static_cast<int64_t>(t->id()));
    if (p.Next()) {
      t->set_step(p.Int(0));
      t->set_loss(p.Real(1));
      t->set_samples_per_sec(p.Real(2));
      t->set_max_steps(p.Int(3));
    }
    Stmt e(db_, "SELECT step, loss, accuracy, macro_f1, objective, attempt, feasible FROM evaluations "
                "WHERE trial_id=? ORDER BY step DESC, attempt DESC LIMIT 1");
    e.Bind(1, static_cast<int64_t>(t->id()));
    if (e.Next()) {
      t->set_has_metric(true);
      t->set_valid_loss(e.Real(1));
      t->set_accuracy(e.Real(2));
      t->set_macro_f1(e.Real(3));
      t->set_metric(e.Null(4) ? NAN : e.Real(4));
      t->set_infeasible(e.Int(6) == 0);
      FillLanguages(db_, t->id(), e.Int(5), e.Int(0), t->mutable_languages());
    }
  }
  return reply;
}

}  // namespace polysweep
