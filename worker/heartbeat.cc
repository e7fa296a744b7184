#include "worker/heartbeat.h"

namespace polysweep {

HeartbeatSender::HeartbeatSender(zmq::context_t& ctx, const std::string& endpoint, TrialIdentity id,
                                 const std::optional<CurveClientKeys>& curve, const Liveness& liveness,
                                 double interval_seconds, std::string host, int pid)
    : id_(std::move(id)), host_(std::move(host)), pid_(pid), liveness_(liveness),
      interval_(std::chrono::milliseconds(static_cast<int64_t>(interval_seconds * 1000))),
      client_(ctx, endpoint, curve) {
  thread_ = std::thread([this] { Loop(); });
}

HeartbeatSender::~HeartbeatSender() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void HeartbeatSender::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    wire::Envelope env;
    env.set_sweep(id_.sweep);
    env.set_trial(id_.trial);
    env.set_attempt(id_.attempt);
    env.set_rank(id_.rank);
    env.mutable_heartbeat()->set_step(liveness_.step);
    env.mutable_heartbeat()->set_work(liveness_.work);
    env.mutable_heartbeat()->set_host(host_);
    env.mutable_heartbeat()->set_pid(pid_);
    // A lost heartbeat is not an error here: the coordinator judges liveness.
    (void)client_.Call(std::move(env), interval_);
    lock.lock();
  }
}

}  // namespace polysweep
