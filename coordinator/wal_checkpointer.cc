#include "coordinator/wal_checkpointer.h"

#include <sqlite3.h>

namespace polysweep {

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WalCheckpointer::Committed(int wal_pages) {
  if (wal_pages < kNudgePages) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (wanted_) return;  // already nudged: no wake-up per commit while the thread pauses
  wanted_ = true;
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  cv_.notify_all();
}

void WalCheckpointer::Loop() {
  // Should this connection fail, checkpoints stop here and the journal's WAL
  // hook checkpoints in the commit once the WAL has grown far enough.
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK ||
      sqlite3_busy_timeout(db, 1000) != SQLITE_OK ||
      // A connection finds the WAL only once it reads the database.
      sqlite3_exec(db, "PRAGMA journal_mode;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || wanted_; });
    if (stop_) break;
    wanted_ = false;
    lock.unlock();
    // PASSIVE: copies what no reader still needs and returns; the next
    // nudge continues. The WAL starts over from its beginning once all of
    // it is in the database file.
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
    ++done_;
    // Under a steady stream of commits the WAL stays past the nudge: pace
    // the checkpoints (each syncs the database file) rather than run them
    // back to back.
    cv_.wait_for(lock, kPause, [this] { return stop_; });  // a nudge meanwhile wakes it once, and it sleeps on
  }
  lock.unlock();
  sqlite3_close(db);
}

}  // namespace polysweep
