// How rank 0 reports to the coordinator. An interface so the trainer can be
// driven in tests without a coordinator; CoordinatorClient is the real one.
//
// CoordinatorClient delivers every report until the coordinator acknowledges
// it (the coordinator acknowledges only after journaling). Reports go through
// a queue and a sender thread, so training goes on while the coordinator is
// away (restarting after a crash, say): each report is resent until it is
// acknowledged or the coordinator has been unreachable for the outage
// timeout. A resent report may arrive twice; the journal stores a (trial,
// attempt, step) once. One message is in flight at a time; progress reports
// that queue up behind it go together in the next one (a ProgressBatch), so
// a slow or busy coordinator costs the rank fewer round trips, not a longer
// queue. A rejection (a stale attempt, fenced off by a newer
// one) or an outage longer than the timeout is fatal: the next report
// returns the error and the trial stops.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/log.h"
#include "common/status.h"
#include "common/wire.h"

namespace polysweep {

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual Status Progress(const wire::Progress& p) = 0;
  virtual Status Evaluation(const wire::Evaluation& e) = 0;
  virtual Status End(const wire::TrialEnd& e) = 0;
  // The evaluation at the attempt's stop (a rung), delivered before it
  // returns: the step the coordinator says to train on to when the scheduler
  // promoted the trial there and then, or 0 to pause at the stop.
  virtual StatusOr<int64_t> EvaluationAtStop(const wire::Evaluation& e) {
    PS_RETURN_IF_ERROR(Evaluation(e));
    return int64_t{0};
  }
  // The latest command the coordinator sent with an acknowledgement
  // (wire::COMMAND_NONE until one arrives). Any thread may ask.
  virtual wire::Command command() const { return wire::COMMAND_NONE; }
  // Copies of the Progress and Evaluation reports not yet acknowledged
  // (queued or in flight), oldest first, each with origin_attempt set to the
  // attempt that made it. A checkpoint keeps them so that an attempt resuming
  // from it can replay them (the coordinator stores each step once).
  virtual std::vector<wire::Envelope> Unacknowledged() { return {}; }
};

struct TrialIdentity {
  std::string sweep;
  uint64_t trial = 0;
  uint32_t attempt = 0;
  int rank = 0;
};

class CoordinatorClient : public Reporter {
 public:
  // How long one try waits for its acknowledgement before resending.
  static constexpr std::chrono::milliseconds kTryTimeout{3000};

  // `ctx`: the process's ZeroMQ context (it must outlive the client; an agent
  // reuses one across its trials).
  CoordinatorClient(zmq::context_t& ctx, const std::string& endpoint, TrialIdentity id,
                    const std::optional<CurveClientKeys>& curve, std::chrono::milliseconds outage_timeout,
                    const Logger& log);
  // Stops the sender; reports not yet delivered are dropped (End() waits for them).
  ~CoordinatorClient() override;
  CoordinatorClient(const CoordinatorClient&) = delete;
  CoordinatorClient& operator=(const CoordinatorClient&) = delete;

  // Announces this rank and returns its assignment (waits for it).
  StatusOr<wire::Assignment> Hello(int world_size, const std::string& host, int pid,
                                   const std::string& slurm_step = "");
  // Queued: return at once, with the error of an earlier report if delivery failed.
  Status Progress(const wire::Progress& p) override;
  Status Evaluation(const wire::Evaluation& e) override;
  // Queued behind the reports before it; waits for its acknowledgement.
  StatusOr<int64_t> EvaluationAtStop(const wire::Evaluation& e) override;
  // Queued behind the reports before it; waits until all are delivered.
  Status End(const wire::TrialEnd& e) override;
  wire::Command command() const override { return static_cast<wire::Command>(command_.load()); }
  std::vector<wire::Envelope> Unacknowledged() override;

  // Called on the sender thread with each message the coordinator
  // acknowledged (a ProgressBatch carries several reports). For measuring
  // delivery; set it before the first report.
  using DeliveredFn = std::function<void(const wire::Envelope& delivered)>;
  void set_on_delivered(DeliveredFn fn);

 private:
  struct Item;
  StatusOr<wire::Envelope> Submit(wire::Envelope env, bool wait);
  void Loop();
  // Sends until acknowledged, rejected, or the outage timeout; sender thread only.
  StatusOr<wire::Envelope> Deliver(const wire::Envelope& env);

  TrialIdentity id_;
  std::string endpoint_;
  std::chrono::milliseconds outage_timeout_;
  const Logger& log_;
  RequestClient client_;  // used by the sender thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Item>> queue_;
  Status failed_;  // sticky: once delivery failed, every later report fails
  bool stop_ = false;
  std::atomic<int> command_{wire::COMMAND_NONE};
  DeliveredFn on_delivered_;
  std::thread thread_;
};

}  // namespace polysweep
