// What the journal's readers share: a prepared-statement wrapper and the
// per-language scores of one evaluation. Internal to polysweep_coordinator.
#pragma once

#include <sqlite3.h>

#include <string>

#include "common/status.h"
#include "polysweep.pb.h"

namespace polysweep {
namespace journal_sql {

// A prepared statement that finalises itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  // Borrows a statement prepared once (Journal::Cached): reset, not finalised.
  Stmt(sqlite3* db, sqlite3_stmt* cached) : db_(db), stmt_(cached), owned_(false) {}
  ~Stmt() {
    if (owned_) {
      sqlite3_finalize(stmt_);
    } else if (stmt_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  bool ok() const { return stmt_ != nullptr; }
  Stmt& Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); return *this; }
  Stmt& Bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); return *this; }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindNull(int i) { sqlite3_bind_null(stmt_, i); return *this; }
  // Runs a statement that returns no rows.
  Status Run() {
    if (!stmt_) return Error();
    int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Error();
    return Status::Ok();
  }
  bool Next() { return stmt_ && sqlite3_step(stmt_) == SQLITE_ROW; }
  // Ready to run again (with new bindings).
  void Reset() {
    if (stmt_) sqlite3_reset(stmt_);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }
  bool Null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  Status Error() const { return Status::Error(std::string("journal: ") + sqlite3_errmsg(db_)); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool owned_ = true;
};

inline void FillLanguages(sqlite3* db, uint64_t trial, int64_t attempt, int64_t step,
                   google::protobuf::RepeatedPtrField<wire::LanguageScore>* out) {
  Stmt q(db, "SELECT lang, f1, accuracy, count FROM language_scores "
             "WHERE trial_id=? AND attempt=? AND step=? ORDER BY lang");
  q.Bind(1, static_cast<int64_t>(trial)).Bind(2, attempt).Bind(3, step);
  while (q.Next()) {
    auto* s = out->Add();
    s->set_lang(q.Text(0));
    s->set_f1(q.Real(1));
    s->set_accuracy(q.Real(2));
    s->set_count(q.Int(3));
  }
}

}  // namespace journal_sql
}  // namespace polysweep
