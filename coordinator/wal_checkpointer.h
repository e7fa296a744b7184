// Checkpoints a SQLite WAL file on a thread of its own, so the writer's
// commits never wait for one. SQLite's automatic checkpoint runs inside the
// commit that crosses its threshold: that commit copies the WAL back into the
// database file and syncs it, tens of milliseconds on a plain disk, while
// every rank waiting for an acknowledgement waits with it. The journal turns
// the automatic checkpoint off and nudges this one instead (a WAL hook);
// its PASSIVE checkpoints run on their own connection, alongside the
// writer, never blocking it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace polysweep {

class WalCheckpointer {
 public:
  // WAL pages after which a commit nudges the checkpointer (SQLite's own default).
  static constexpr int kNudgePages = 1000;
  // The least time from the end of one checkpoint to the start of the next.
  static constexpr std::chrono::milliseconds kPause{100};

  explicit WalCheckpointer(std::string path) : path_(std::move(path)) {}
  // Finishes the checkpoint under way, if any; the file is consistent either way.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // The writer's connection, after a commit left `wal_pages` pages in the
  // WAL. Cheap; starts the thread on the first nudge.
  void Committed(int wal_pages);
  // Checkpoints run so far.
  int64_t checkpoints() const { return done_.load(); }

 private:
  void Loop();

  const std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stop_ = false;
  std::atomic<int64_t> done_{0};
  std::thread thread_;  // started by the first nudge
};

}  // namespace polysweep
