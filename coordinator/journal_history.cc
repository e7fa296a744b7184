// Journal::History: one trial's whole record, read for the CLI; Journal::Curves:
// every trial's curves, thinned, for the dashboard.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "coordinator/journal.h"
#include "coordinator/journal_sql.h"
#include "common/files.h"

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
      auto kind = ParseDecisionKind(q.Text(1));
      if (!kind) return Status::Error(path_ + ": trial " + std::to_string(trial) + " has a decision of unknown kind \"" +
                                      q.Text(1) + "\"");
      h.decisions.push_back({trial, static_cast<uint32_t>(q.Int(0)), *kind, q.Int(2), q.Null(3) ? NAN : q.Real(3),
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

std::vector<size_t> ThinnedIndices(size_t n, size_t max) {
  std::vector<size_t> kept;
  if (n <= max) {
    for (size_t i = 0; i < n; ++i) kept.push_back(i);
    return kept;
  }
  max = std::max<size_t>(max, 2);
  // Consecutive picks differ by at least one: (n - 1) / (max - 1) > 1.
  for (size_t i = 0; i < max; ++i) kept.push_back(i * (n - 1) / (max - 1));
  return kept;
}

namespace {

// One table's curve of one trial, at most about `max_points` rows of it read:
// `columns` start with attempt, step; `append` takes a row. A short curve is
// read whole and thinned; a long one is read at evenly spaced steps of each
// attempt, each found with one seek of the primary key (trial, attempt,
// step), so the cost does not grow with the curve.
template <typename Append>
Status ThinCurve(sqlite3* db, const std::string& table, const std::string& columns, int64_t trial, int64_t attempts,
                 size_t max_points, Append append) {
  struct Span {
    int64_t attempt, first, last;
  };
  std::vector<Span> spans;
  int64_t total = 0;
  {
    const std::string from = " FROM " + table + " WHERE trial_id=? AND attempt=? ORDER BY step";
    Stmt first(db, ("SELECT step" + from + " LIMIT 1").c_str());
    Stmt last(db, ("SELECT step" + from + " DESC LIMIT 1").c_str());
    if (!first.ok() || !last.ok()) return first.Error();
    for (int64_t a = 1; a <= attempts; ++a) {
      first.Reset();
      last.Reset();
      first.Bind(1, trial).Bind(2, a);
      last.Bind(1, trial).Bind(2, a);
      if (!first.Next() || !last.Next()) continue;
      spans.push_back({a, first.Int(0), last.Int(0)});
      total += last.Int(0) - first.Int(0) + 1;  // at most this many rows: a step is stored once per attempt
    }
  }
  constexpr int64_t kReadWhole = 8;  // a curve of up to 8 x max_points rows is read whole
  if (total <= kReadWhole * static_cast<int64_t>(max_points)) {
    Stmt q(db, ("SELECT " + columns + " FROM " + table + " WHERE trial_id=? ORDER BY attempt, step").c_str());
    if (!q.ok()) return q.Error();
    q.Bind(1, trial);
    size_t n = 0;
    // Two passes over a bounded result: count, then keep the thinned rows.
    while (q.Next()) ++n;
    q.Reset();
    const std::vector<size_t> kept = ThinnedIndices(n, max_points);
    size_t i = 0, k = 0;
    while (k < kept.size() && q.Next()) {
      if (i++ == kept[k]) {
        append(q);
        ++k;
      }
    }
    return Status::Ok();
  }
  Stmt seek(db, ("SELECT " + columns + " FROM " + table + " WHERE trial_id=? AND attempt=? AND step>=? ORDER BY step LIMIT 1").c_str());
  if (!seek.ok()) return seek.Error();
  for (const Span& s : spans) {
    const int64_t width = s.last - s.first;
    const auto points = std::max<int64_t>(2, static_cast<int64_t>(max_points) * (width + 1) / total);
    int64_t previous = -1;
    for (int64_t i = 0; i < points; ++i) {
      const int64_t target = s.first + (width * i) / (points - 1);
      if (target <= previous) continue;  // the last seek already found a row at or past it
      seek.Reset();
      seek.Bind(1, trial).Bind(2, s.attempt).Bind(3, target);
      if (!seek.Next()) break;
      previous = seek.Int(1);
      append(seek);
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<JournalCurves> Journal::Curves(size_t max_points) const {
  JournalCurves c;
  Stmt trials(db_, "SELECT id, attempt FROM trials ORDER BY id");
  if (!trials.ok()) return trials.Error();
  const std::string eval_columns = version_ >= 3 ? "attempt, step, loss, accuracy, macro_f1, objective, final, feasible, at"
                                                 : "attempt, step, loss, accuracy, macro_f1, objective, final, 1, at";
  while (trials.Next()) {
    const int64_t id = trials.Int(0), attempts = trials.Int(1);
    auto& progress = c.progress[static_cast<uint64_t>(id)];
    PS_RETURN_IF_ERROR(ThinCurve(db_, "progress", "attempt, step, loss, lr, samples_per_sec, at", id, attempts,
                                 max_points, [&](const Stmt& q) {
                                   progress.push_back({static_cast<uint32_t>(q.Int(0)), q.Int(1), q.Real(2),
                                                       q.Real(3), q.Real(4), q.Real(5)});
                                 }));
    auto& evaluations = c.evaluations[static_cast<uint64_t>(id)];
    PS_RETURN_IF_ERROR(ThinCurve(db_, "evaluations", eval_columns, id, attempts, max_points,
                                 [&](const Stmt& q) { evaluations.push_back(EvaluationAt(q, 0)); }));
  }
  return c;
}

}  // namespace polysweep

namespace polysweep {

Status Journal::RecordTestScore(uint64_t trial, const std::string& summary, const std::string& report) {
  Stmt ins(db_, "INSERT OR REPLACE INTO test_scores(trial_id, summary, report, at) VALUES(?, ?, ?, ?)");
  return ins.Bind(1, static_cast<int64_t>(trial)).Bind(2, summary).Bind(3, report).Bind(4, WallSeconds()).Run();
}

StatusOr<std::vector<JournalTestScore>> Journal::TestScores() const {
  std::vector<JournalTestScore> out;
  if (version_ < 6) return out;
  Stmt q(db_, "SELECT trial_id, summary, report, at FROM test_scores ORDER BY trial_id");
  while (q.Next()) out.push_back(JournalTestScore{static_cast<uint64_t>(q.Int(0)), q.Text(1), q.Text(2), q.Real(3)});
  return out;
}

}  // namespace polysweep
