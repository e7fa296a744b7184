// Read-only SQL access to a sweep journal for assertions.
#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

namespace polysweep::testing_util {

class JournalReader {
 public:
  explicit JournalReader(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) db_ = nullptr;
  }
  ~JournalReader() { sqlite3_close(db_); }
  bool ok() const { return db_ != nullptr; }
  // All rows of a query, each column as text.
  std::vector<std::vector<std::string>> Query(const std::string& sql) const {
    std::vector<std::vector<std::string>> rows;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return rows;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const unsigned char* t = sqlite3_column_text(st, c);
        row.push_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      rows.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return rows;
  }
  std::string Scalar(const std::string& sql) const {
    auto rows = Query(sql);
    return rows.empty() || rows[0].empty() ? "" : rows[0][0];
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace polysweep::testing_util
