#include "cli/check_facts.h"

#include <cmath>

#include "coordinator/journal_sql.h"

namespace polysweep::check {

using journal_sql::Stmt;

namespace {

bool HasColumn(sqlite3* db, const std::string& table, const std::string& column) {
  Stmt q(db, ("PRAGMA table_info(" + table + ")").c_str());
  while (q.Next()) {
    if (q.Text(1) == column) return true;
  }
  return false;
}

// Runs `sql` and hands each row to `row`; an error naming the journal when
// the statement cannot run.
template <typename Fn>
Status EachRow(sqlite3* db, const std::string& path, const std::string& sql, int64_t* rows, Fn row) {
  Stmt q(db, sql.c_str());
  if (!q.ok()) return q.Error().With(path);
  while (q.Next()) {
    row(q);
    ++*rows;
  }
  return Status::Ok();
}

}  // namespace

bool IsFinalState(const std::string& state) {
  const auto s = ParseTrialState(state);
  return s && IsFinal(*s);
}

StatusOr<SweepFacts> LoadSweepFacts(sqlite3* db, const std::string& path) {
  SweepFacts f;
  {
    Stmt q(db, "SELECT name, config, state, created_at FROM sweeps WHERE id=1");
    if (!q.Next()) return Status::Error(path + ": journal has no sweep");
    f.name = q.Text(0);
    f.config = q.Text(1);
    const auto state = ParseSweepState(q.Text(2));
    if (!state) return Status::Error(path + ": the sweep is in an unknown state \"" + q.Text(2) + "\"");
    f.state = *state;
    f.created_at = q.Real(3);
  }
  std::string unknown;  // a trial state or decision kind this polysweep does not know
  auto trial = [&f](int64_t id) -> TrialFacts& {
    TrialFacts& t = f.trials[static_cast<uint64_t>(id)];
    t.id = static_cast<uint64_t>(id);
    return t;
  };
  PS_RETURN_IF_ERROR(EachRow(db, path, "SELECT id, state, hparams, attempt FROM trials ORDER BY id", &f.rows,
                             [&](const Stmt& q) {
                               TrialFacts& t = trial(q.Int(0));
                               t.id = static_cast<uint64_t>(q.Int(0));
                               const auto state = ParseTrialState(q.Text(1));
                               if (!state) unknown = "state " + q.Text(1);
                               t.state = state.value_or(TrialState::kPending);
                               t.hparams = q.Text(2);
                               t.attempt = static_cast<uint32_t>(q.Int(3));
                             }));
  PS_RETURN_IF_ERROR(EachRow(db, path, "SELECT trial_id, attempt, at, from_state, to_state, reason FROM transitions "
                                       "ORDER BY id", &f.rows, [&](const Stmt& q) {
    trial(q.Int(0)).transitions.push_back(
        JournalTransition{static_cast<uint32_t>(q.Int(1)), q.Real(2), q.Text(3), q.Text(4), q.Text(5)});
  }));
  const std::string resumed = HasColumn(db, "progress", "resumed_from") ? "resumed_from" : "NULL";
  PS_RETURN_IF_ERROR(EachRow(db, path, "SELECT trial_id, attempt, step, max_steps, " + resumed +
                                           ", at FROM progress ORDER BY rowid", &f.rows, [&](const Stmt& q) {
    JournalProgressPoint p;
    p.attempt = static_cast<uint32_t>(q.Int(1));
    p.step = q.Int(2);
    p.max_steps = q.Int(3);
    if (!q.Null(4)) p.resumed_from = q.Int(4);
    p.at = q.Real(5);
    trial(q.Int(0)).progress.push_back(p);
  }));
  const std::string feasible = HasColumn(db, "evaluations", "feasible") ? "feasible" : "1";
  PS_RETURN_IF_ERROR(EachRow(db, path, "SELECT trial_id, attempt, step, objective, " + feasible +
                                           ", final, at FROM evaluations ORDER BY rowid", &f.rows, [&](const Stmt& q) {
    JournalEvaluationPoint e;
    e.attempt = static_cast<uint32_t>(q.Int(1));
    e.step = q.Int(2);
    e.objective = q.Null(3) ? NAN : q.Real(3);
    e.feasible = q.Int(4) != 0;
    e.final = q.Int(5) != 0;
    e.at = q.Real(6);
    trial(q.Int(0)).evaluations.push_back(std::move(e));
  }));
  if (HasColumn(db, "decisions", "kind")) {
    PS_RETURN_IF_ERROR(EachRow(db, path, "SELECT trial_id, attempt, kind, step, score, stop_at, detail, at "
                                         "FROM decisions ORDER BY id", &f.rows, [&](const Stmt& q) {
      const auto kind = ParseDecisionKind(q.Text(2));
      if (!kind) {
        unknown = "decision kind " + q.Text(2);
        return;
      }
      trial(q.Int(0)).decisions.push_back(JournalDecision{static_cast<uint64_t>(q.Int(0)),
                                                          static_cast<uint32_t>(q.Int(1)), *kind, q.Int(3),
                                                          q.Null(4) ? NAN : q.Real(4), q.Int(5), q.Text(6), q.Real(7)});
    }));
  }
  if (!unknown.empty()) return Status::Error(path + ": unknown " + unknown + " (a newer polysweep's journal?)");
  return f;
}

}  // namespace polysweep::check
