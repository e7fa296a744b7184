// Liveness of one rank: the trainer counts its work (steps, evaluation
// batches) in a Liveness; a HeartbeatSender thread reports it to the
// coordinator at a fixed interval over its own socket. A rank stuck in a
// collective keeps sending heartbeats whose work does not advance; a stopped
// or dead rank sends none. Either way the coordinator notices. Each heartbeat
// names the rank's host and pid, so a restarted coordinator learns the ranks
// of a trial it re-adopts from them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "common/wire.h"
#include "worker/reporter.h"

namespace polysweep {

struct Liveness {
  std::atomic<int64_t> step{0};
  std::atomic<uint64_t> work{0};
  void Tick(int64_t at_step) {
    step = at_step;
    ++work;
  }
};

class HeartbeatSender {
 public:
  HeartbeatSender(zmq::context_t& ctx, const std::string& endpoint, TrialIdentity id,
                  const std::optional<CurveClientKeys>& curve,
                  const Liveness& liveness, double interval_seconds, std::string host, int pid);
  ~HeartbeatSender();  // stops the thread
  HeartbeatSender(const HeartbeatSender&) = delete;
  HeartbeatSender& operator=(const HeartbeatSender&) = delete;

 private:
  void Loop();
  TrialIdentity id_;
  std::string host_;
  int pid_;
  const Liveness& liveness_;
  std::chrono::milliseconds interval_;
  RequestClient client_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace polysweep
