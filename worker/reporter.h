// How rank 0 reports to the coordinator. An interface so the trainer can be
// driven in tests without a coordinator; CoordinatorClient is the real one
// (a DEALER socket; each report waits for the coordinator's acknowledgement,
// which it sends only after journaling the report).
#pragma once

#include <chrono>
#include <memory>
#include <string>

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
};

struct TrialIdentity {
  std::string sweep;
  uint64_t trial = 0;
  uint32_t attempt = 0;
  int rank = 0;
};

class CoordinatorClient : public Reporter {
 public:
  static constexpr std::chrono::milliseconds kReplyTimeout{30000};

  CoordinatorClient(const std::string& endpoint, TrialIdentity id,
                    const std::optional<CurveClientKeys>& curve = std::nullopt);
  // Announces this rank and returns its assignment.
  StatusOr<wire::Assignment> Hello(int world_size, const std::string& host, int pid);
  Status Progress(const wire::Progress& p) override;
  Status Evaluation(const wire::Evaluation& e) override;
  Status End(const wire::TrialEnd& e) override;

 private:
  StatusOr<wire::Envelope> Call(wire::Envelope env);
  TrialIdentity id_;
  zmq::context_t ctx_;
  RequestClient client_;
};

}  // namespace polysweep
