// Journal::History: one trial's whole record, read for the CLI.
#include <cmath>

#include "coordinator/journal.h"
#include "coordinator/journal_sql.h"

namespace polysweep {

using journal_sql::FillLanguages;
using journal_sql::Stmt;

namespace {

// Columns attempt, step, loss, accuracy, macro_f1, objective, final,
// feasible, at of an evaluations row, from column `c` on.
JournalEvaluationPoint EvaluationAt(const Stmt& q, int c) {
  JournalEvaluationPoint e;
  e.attempt = static_cast<uint32_t>(q.Int(c));
  e.step = q.Int(c + 1);
  e.loss = q.Real(c + 2);
  e.accuracy = q.Real(c + 3);
  e.macro_f1 = q.Real(c + 4);
  e.objective = q.Null(c + 5) ? NAN : q.Real(c + 5);
  e.final = q.Int(c + 6) != 0;
  e.feasible = q.Int(c + 7) != 0;
  e.at = q.Real(c + 8);
  return e;
}

}  // namespace

StatusOr<JournalTrialHistory> Journal::History(uint64_t trial) const {
  JournalTrialHistory h;
  h.id = trial;
  const auto id = static_cast<int64_t>(trial);
  {
    Stmt q(db_, version_ >= 2 ? "SELECT created_at, restarts FROM trials WHERE id=?"
                              : "SELECT created_at, 0 FROM trials WHERE id=?");
    q.Bind(1, id);
    if (!q.Next()) {
      Stmt n(db_, "SELECT COUNT(*) FROM trials");
      const int64_t count = n.Next() ? n.Int(0) : 0;
      return Status::Error("no trial " + std::to_string(trial) + " in " + path_ + " (it has " +
                           (count == 0 ? "no trials yet" : "trials 1 to " + std::to_string(count)) + ")");
    }
    h.created_at = q.Real(0);
    h.restarts = static_cast<int>(q.Int(1));
  }
  {
    Stmt q(db_, "SELECT attempt, at, from_state, to_state, reason FROM transitions WHERE trial_id=? ORDER BY id");
    q.Bind(1, id);
    while (q.Next()) {
      h.transitions.push_back({static_cast<uint32_t>(q.Int(0)), q.Real(1), q.Text(2), q.Text(3), q.Text(4)});
    }
  }
  {
    Stmt q(db_, "SELECT attempt, step, loss, lr, samples_per_sec, at FROM progress WHERE trial_id=? "
                "ORDER BY attempt, step");
    q.Bind(1, id);
    while (q.Next()) {
      h.progress.push_back({static_cast<uint32_t>(q.Int(0)), q.Int(1), q.Real(2), q.Real(3), q.Real(4), q.Real(5)});
    }
  }
  {
    Stmt q(db_, version_ >= 3 ? "SELECT attempt, step, loss, accuracy, macro_f1, objective, final, feasible, at "
                                "FROM evaluations WHERE trial_id=? ORDER BY attempt, step"
                              : "SELECT attempt, step, loss, accuracy, macro_f1, objective, final, 1, at "
                                "FROM evaluations WHERE trial_id=? ORDER BY attempt, step");
    q.Bind(1, id);
    while (q.Next()) {
      JournalEvaluationPoint e = EvaluationAt(q, 0);
      google::protobuf::RepeatedPtrField<wire::LanguageScore> langs;
      FillLanguages(db_, trial, e.attempt, e.step, &langs);
      e.languages.assign(langs.begin(), langs.end());
      h.evaluations.push_back(std::move(e));
    }
  }
  if (version_ >= 3) {
    Stmt q(db_, "SELECT attempt, kind, step, score, stop_at, detail FROM decisions WHERE trial_id=? ORDER BY id");
    q.Bind(1, id);
    while (q.Next()) {
      h.decisions.push_back({trial, static_cast<uint32_t>(q.Int(0)), q.Text(1), q.Int(2), q.Null(3) ? NAN : q.Real(3),
                             q.Int(4), q.Text(5)});
    }
  }
  return h;
}

StatusOr<std::optional<JournalEvaluation>> Journal::BestEvaluation(bool maximize) const {
  const std::string order = maximize ? "DESC" : "ASC";
  const std::string feasible = version_ >= 3 ? "e.feasible" : "1";
  const std::string sql = "SELECT e.trial_id, e.step, e.objective, " + feasible +
                          " FROM evaluations e JOIN trials t ON t.id = e.trial_id "
                          "WHERE e.objective IS NOT NULL AND t.state != 'failed' ORDER BY " + feasible +
                          " DESC, e.objective " + order + ", e.trial_id LIMIT 1";
  Stmt q(db_, sql.c_str());
  if (!q.ok()) return q.Error();
  if (!q.Next()) return std::optional<JournalEvaluation>();
  return std::optional<JournalEvaluation>(
      JournalEvaluation{static_cast<uint64_t>(q.Int(0)), q.Int(1), q.Real(2), q.Int(3) != 0});
}

StatusOr<JournalCurves> Journal::Curves() const {
  JournalCurves c;
  {
    Stmt q(db_, "SELECT trial_id, attempt, step, loss, lr, samples_per_sec, at FROM progress "
                "ORDER BY trial_id, attempt, step");
    if (!q.ok()) return q.Error();
    while (q.Next()) {
      c.progress[static_cast<uint64_t>(q.Int(0))].push_back(
          {static_cast<uint32_t>(q.Int(1)), q.Int(2), q.Real(3), q.Real(4), q.Real(5), q.Real(6)});
    }
  }
  Stmt q(db_, version_ >= 3 ? "SELECT trial_id, attempt, step, loss, accuracy, macro_f1, objective, final, feasible, at "
                              "FROM evaluations ORDER BY trial_id, attempt, step"
                            : "SELECT trial_id, attempt, step, loss, accuracy, macro_f1, objective, final, 1, at "
                              "FROM evaluations ORDER BY trial_id, attempt, step");
  if (!q.ok()) return q.Error();
  while (q.Next()) {
    c.evaluations[static_cast<uint64_t>(q.Int(0))].push_back(EvaluationAt(q, 1));
  }
  return c;
}

}  // namespace polysweep
